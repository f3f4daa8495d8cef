"""Facilitation: what managers see (the dashboard) and receive (their weekly digest).

``service`` holds the figures (aggregate SQL, one query per figure), ``gaps`` the knowledge
gaps (clustered call embeddings), ``charts`` the server-rendered SVG, ``tables`` the CSV
exports, ``scheduled`` the managers' weekly digest tick, ``controllers`` the JSON API.
"""
