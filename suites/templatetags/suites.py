from django import template

register = template.Library()


@register.filter
def signed_percent(fraction):
    """-0.2312 -> "-23.1%"; a relative change as people read it."""
    if fraction is None:
        return "—"
    return f"{fraction * 100:+.1f}%"
