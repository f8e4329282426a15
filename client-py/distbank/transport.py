"""zeep's Transport with the limits this client promises: a timeout on every call (zeep's
default waits forever), no hidden urllib3 retries (ours reuse the request id), and a bound on
the size of an answer (also after gzip inflation), so a broken or hostile endpoint cannot make
the client swallow gigabytes."""

from __future__ import annotations

from typing import Any

import requests
import zeep
from requests.adapters import HTTPAdapter

from . import __version__
from .config import RESPONSE_BYTES_MAX
from .errors import BankProtocolError

_CHUNK_BYTES = 65_536


class BoundedTransport(zeep.Transport):
    def __init__(self, timeout_s: float, response_bytes_max: int = RESPONSE_BYTES_MAX) -> None:
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        super().__init__(session=session, timeout=timeout_s, operation_timeout=timeout_s)
        self.session.headers["User-Agent"] = f"distbank-py/{__version__} {self.session.headers['User-Agent']}"
        self._response_bytes_max = response_bytes_max

    def post(self, address: str, message: Any, headers: Any) -> Any:
        response = self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout, stream=True)
        try:
            body = bytearray()
            # iter_content inflates gzip/deflate: the bound applies to what zeep would parse.
            for chunk in response.iter_content(_CHUNK_BYTES):
                body += chunk
                if len(body) > self._response_bytes_max:
                    raise BankProtocolError(
                        f"the answer from {address} is larger than {self._response_bytes_max} bytes"
                    )
        finally:
            response.close()
        # zeep reads response.content; hand it the bytes already read.
        response._content = bytes(body)
        return response

    def close(self) -> None:
        self.session.close()
