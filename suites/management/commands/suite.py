"""`manage.py suite`: list, create, import and run benchmark suites (docs/SUITES.md)."""

from django.core.management.base import BaseCommand, CommandError

from jobs.choices import CacheMode, Scenario
from suites import definitions, triggers
from suites.models import Suite


class Command(BaseCommand):
    help = "Benchmark suites: list, create NAME URL..., import FILE, run NAME."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("list", help="Every suite with its repositories and latest run.")
        create = actions.add_parser("create", help="Create or replace a suite.")
        create.add_argument("name")
        create.add_argument("urls", nargs="+", metavar="URL", help="Repository URLs (URL@REF).")
        create.add_argument("--description", default="")
        create.add_argument("--runs", default="3", help='1-10 or "auto" (default 3).')
        create.add_argument("--warmups", type=int, default=1)
        create.add_argument("--cache", choices=CacheMode.values, default=CacheMode.WARM)
        create.add_argument("--scenario", choices=Scenario.values, default=Scenario.CLEAN)
        imported = actions.add_parser("import", help="Create or update the suites of a TOML file.")
        imported.add_argument("file")
        run = actions.add_parser("run", help="Queue a run of the suite now.")
        run.add_argument("name")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_list(self, **options):
        suites = Suite.objects.prefetch_related("repositories")
        if not suites:
            self.stdout.write("No suite. Import one: manage.py suite import suites/default.toml")
        for suite in suites:
            latest = suite.runs_of_suite.first()
            state = f"latest run #{latest.pk} {latest.status}" if latest else "never run"
            runs = suite.runs or "auto"
            self.stdout.write(
                f"{suite.name}: {suite.repositories.count()} repositories, {runs} runs, "
                f"{suite.warmups} warm-ups, {suite.cache} {suite.scenario}; {state}"
            )
            for repository in suite.repositories.all():
                self.stdout.write(f"  {repository}")

    def do_create(self, *, name, urls, description, runs, warmups, cache, scenario, **options):
        table = {
            "description": description,
            "runs": "auto" if runs == "auto" else _whole(runs, "--runs"),
            "warmups": warmups,
            "cache": cache,
            "scenario": scenario,
            "repositories": [_url_and_ref(url) for url in urls],
        }
        try:
            suite, created = definitions.save(name, definitions.check(name, table))
        except definitions.DefinitionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{'created' if created else 'updated'} suite {suite.name}")

    def do_import(self, *, file, **options):
        try:
            saved = definitions.import_file(file)
        except definitions.DefinitionError as error:
            raise CommandError(str(error)) from None
        for suite, created in saved:
            self.stdout.write(
                f"{'created' if created else 'updated'} suite {suite.name} "
                f"({suite.repositories.count()} repositories)"
            )

    def do_run(self, *, name, **options):
        suite = Suite.objects.filter(name=name).first()
        if suite is None:
            known = ", ".join(Suite.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No suite named {name!r} (suites: {known}).")
        run = triggers.run_now(suite)
        self.stdout.write(f"queued run #{run.pk} of suite {suite.name}: {run.races.count()} races")


def _whole(value, option):
    try:
        return int(value)
    except ValueError:
        raise CommandError(f'{option} must be a whole number from 1 to 10 or "auto".') from None


def _url_and_ref(text):
    """ "https://github.com/o/r@v1.2" -> {"url": ..., "ref": "v1.2"} (a ref has no slash)."""
    url, at, ref = text.rpartition("@")
    if not at or "/" in ref:
        return {"url": text, "ref": ""}
    return {"url": url, "ref": ref}
