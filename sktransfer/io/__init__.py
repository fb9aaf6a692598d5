"""Inputs: validate raw image and text collections, decode images."""

from sktransfer.io._images import check_image_input, decode_image
from sktransfer.io._text import check_text_input

__all__ = ["check_image_input", "check_text_input", "decode_image"]
