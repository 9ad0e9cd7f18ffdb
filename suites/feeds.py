"""/feeds/regressions.atom: every regression and improvement a suite run found, newest first."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from suites.announce import change_sentence
from suites.results import changes

FEED_ITEMS = 50


class RegressionsFeed(Feed):
    feed_type = Atom1Feed
    title = "Build Arena: toolchain regressions and improvements"
    subtitle = "Repositories whose Elide speedup changed between two versions, beyond noise."
    author_name = "Build Arena"

    def link(self):
        return reverse("regressions")

    def items(self):
        return changes()[:FEED_ITEMS]

    def item_title(self, item):
        word = "Regression" if item.kind == "regression" else "Improvement"
        return f"{word}: {item.repository_name} under elide {item.to_version}"

    def item_description(self, item):
        return change_sentence(item)

    def item_link(self, item):
        """The change's row on /regressions/ (both races linked): also the entry's atom:id,
        an absolute IRI as RFC 4287 asks."""
        return reverse("regressions") + f"#change-{item.pk}"

    def item_pubdate(self, item):
        return item.found_at

    def item_updateddate(self, item):
        return item.found_at
