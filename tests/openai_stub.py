"""A minimal OpenAI-compatible server on 127.0.0.1 for the predict tests and benchmarks/predict.py.

Real HTTP (http.server, one thread per connection). `GET /v1/models` lists the served model;
`POST /v1/chat/completions` decodes every image data URL of the request with Pillow and records
what arrived (`Received`: text parts, images in order with their bytes and the pixel at (0, 0)),
then answers with `answer(received)` (default "A"). `fail_first` makes the first request whose
answer key is listed get that HTTP status instead, once. Usage: 7 prompt tokens plus 100 per
image, 3 completion tokens. `python tests/openai_stub.py --port N` serves until killed (the
benchmark runs it in its own process so that it does not share the client's interpreter).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

MODEL = "stub-vl"


@dataclass
class Received:
    model: str
    texts: list[str]
    images: list[bytes]
    mimes: list[str]
    pixels: list[tuple[int, ...]]
    order: list[str]  # "text" / "image" in content order
    max_tokens: int | None
    temperature: float | None
    authorization: str | None


@dataclass
class StubState:
    answer: Callable[[Received], str] = lambda received: "A"
    key: Callable[[Received], Any] = lambda received: None
    fail_first: dict[Any, int] = field(default_factory=dict)  # key -> status, returned once
    delay_s: float = 0.0
    decode: bool = True
    received: list[Received] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _parse(body: dict[str, Any], authorization: str | None, decode: bool) -> Received:
    from PIL import Image

    texts, images, mimes, pixels, order = [], [], [], [], []
    for message in body["messages"]:
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for part in parts:
            order.append("text" if part["type"] == "text" else "image")
            if part["type"] == "text":
                texts.append(part["text"])
                continue
            head, data = part["image_url"]["url"].split(",", 1)
            raw = base64.b64decode(data)
            images.append(raw)
            mimes.append(head[len("data:"):].split(";")[0])
            if decode:
                with Image.open(io.BytesIO(raw)) as image:
                    pixels.append(image.convert("RGB").getpixel((0, 0)))
    return Received(body["model"], texts, images, mimes, pixels, order, body.get("max_tokens"), body.get("temperature"),
                    authorization)


def make_handler(state: StubState):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "test"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            if body.get("model") != MODEL:
                self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.", "type": "NotFoundError"}})
                return
            received = _parse(body, self.headers.get("Authorization"), state.decode)
            key = state.key(received)
            with state.lock:
                status = state.fail_first.pop(key, None)
                if status is not None:
                    state.failed.append(key)
                else:
                    state.received.append(received)
            if status is not None:
                self._send(status, {"error": {"message": "injected failure", "type": "server_error"}})
                return
            if state.delay_s:
                time.sleep(state.delay_s)
            text = state.answer(received)
            self._send(200, {
                "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 7 + 100 * len(received.images), "completion_tokens": 3,
                          "total_tokens": 10 + 100 * len(received.images)},
            })

    return Handler


class StubServer:
    """The stub on 127.0.0.1 and a free port, served from a daemon thread."""

    def __init__(self, state: StubState | None = None, port: int = 0):
        self.state = state or StubState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(self.state))
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-decode", action="store_true", help="do not decode the images (answer at once)")
    args = parser.parse_args()
    server = StubServer(StubState(decode=not args.no_decode), port=args.port)
    print(f"serving {server.base_url}", flush=True)
    server.httpd.serve_forever()
