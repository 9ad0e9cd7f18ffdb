"""The sales kit's images: the share card of a race and the badge's text widths."""
