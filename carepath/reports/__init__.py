"""Reports the application writes as files (the adherence report), apart from the web pages."""
