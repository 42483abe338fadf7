"""The upstream: EvoLink's image task API and files API over HTTP, the only layer that imports the
HTTP library. ``client.EvoLinkClient`` is the one object the service layer uses (create and read
tasks, upload reference images, download results); ``errors`` maps HTTP answers to the exception
tree in ``imagegen_mcp.errors``; ``retries`` says what is retried (a paid create only when it
certainly created nothing) and offers the application ``install_retry_logging``; ``ratelimit``
spaces requests; ``fetch`` reads caller-supplied public image URLs; ``schemas`` holds the shapes
of the upstream's answers.
"""
