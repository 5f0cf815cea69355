"""Bình Yên notifications: the digital security gong (tiếng kẻng an ninh)."""
