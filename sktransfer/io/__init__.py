"""Inputs: validate raw image and text collections, decode images.

The domain convention (which rows are source and which are target: masked labels,
``sample_domain``) lives here too, below every estimator package that uses it.
"""

from sktransfer.io._images import (
    check_image_input,
    decode_image,
    decode_pixels,
    pixels_to_tensor,
)
from sktransfer.io._text import check_text_input

__all__ = [
    "check_image_input",
    "check_text_input",
    "decode_image",
    "decode_pixels",
    "pixels_to_tensor",
]
