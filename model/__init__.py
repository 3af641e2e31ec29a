"""Reference Flamingo model and trainer proving that m3w-builder data trains a model."""
