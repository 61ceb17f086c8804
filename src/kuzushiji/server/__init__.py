"""``kuzushiji serve``: a web app to read pages and correct them; every correction becomes training data."""
