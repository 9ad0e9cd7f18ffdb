"""The booth's QR code to the site, drawn on the server as SVG by segno.

The markup has no style attribute and no script (the Content-Security-Policy allows neither
inline); its size comes from the stylesheet (.kiosk-qr svg) through the viewBox.
"""

from functools import lru_cache

import segno
from django.utils.safestring import mark_safe


@lru_cache(maxsize=8)
def qr_svg(url):
    """An SVG QR code of `url`, dark on a light quiet zone so phones read it on a dark page."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        scale=1,
        border=2,
        dark="#000",
        light="#fff",
        omitsize=True,
        svgclass="qr-code",
        lineclass=None,
        title=f"QR code: {url}",
    )
    return mark_safe(svg)  # noqa: S308 (segno's output: our URL, XML-escaped by segno)
