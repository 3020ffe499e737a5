"""`requests` authentication with a credbroker token source: sets `Authorization: Bearer …`
and, when the site answers 401, has the source fetch a new token and retries once.

    import requests, credbroker.requests_auth
    auth = credbroker.requests_auth.BearerAuth(token_source)
    requests.get(site_url + "/api/v1/entity/projects", auth=auth)

Imported on its own, so the rest of credbroker works without `requests` installed.
"""

import requests
import requests.auth

_RETRIED = "_credbroker_retried"


class BearerAuth(requests.auth.AuthBase):
    """token_source: anything with access_token() and invalidate(token), e.g.
    credbroker.SessionTokenSource, credbroker.ScriptTokenSource or
    credbroker.HeldSessionTokenSource (a web backend holding only a session id)."""

    def __init__(self, token_source):
        self._source = token_source

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer " + self._source.access_token()
        request.register_hook("response", self._on_response)
        return request

    def _on_response(self, response, **kwargs):
        request = response.request
        if response.status_code != 401 or getattr(request, _RETRIED, False):
            return response
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            return response  # a streamed body cannot be sent twice
        used = request.headers.get("Authorization", "")[len("Bearer "):]
        self._source.invalidate(used)
        token = self._source.access_token()
        if token == used:
            return response
        response.content  # read the 401 fully so the connection can be reused
        response.close()
        retry = request.copy()
        retry.headers["Authorization"] = "Bearer " + token
        setattr(retry, _RETRIED, True)
        retried = response.connection.send(retry, **kwargs)
        retried.history.append(response)
        retried.request = retry
        return retried
