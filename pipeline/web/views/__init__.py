"""The console's pages, one blueprint per area; `BLUEPRINTS` is what the app factory registers."""

from __future__ import annotations

from pipeline.web.views.accounts import bp as accounts
from pipeline.web.views.auth import bp as auth
from pipeline.web.views.exports import bp as exports
from pipeline.web.views.outbox import bp as outbox
from pipeline.web.views.submissions import bp as submissions
from pipeline.web.views.today import bp as today

BLUEPRINTS = (auth, today, submissions, outbox, exports, accounts)
