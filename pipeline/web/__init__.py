"""The staff console (issue 17): review, decide, retry replies and export in a browser.

`create_app(app)` (pipeline/web/app.py) builds the Flask application around the pipeline's App;
`intake serve` (pipeline/cli/web.py) runs it under waitress on `[web] bind:port`, 127.0.0.1:8080 by default.
"""
