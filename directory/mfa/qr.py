"""QR codes drawn here, as SVG (the TOTP secret never leaves the server for a QR service)."""

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return svg[svg.index("<svg"):]  # drop the XML declaration: the SVG goes inline into the page
