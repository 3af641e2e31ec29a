"""Media: safe fetching, image normalisation, 1 FPS video frames, and one media item's bytes → stored result."""
