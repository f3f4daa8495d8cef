"""AskHub: route a colleague's open call to the people most likely to answer it."""
