"""The web widget channel: the public widget API, its pages (loader, frame, demo) and its rules."""
