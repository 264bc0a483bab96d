"""The Hugging Face side of a build: the datasets builder (`spar`), the build runner (`run`) and the card (`card`)."""
