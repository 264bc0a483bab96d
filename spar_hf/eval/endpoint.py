"""An OpenAI-compatible chat endpoint (vLLM, SGLang, TGI, LMDeploy, a hosted API) through the `openai` client.

The client does the HTTP, the retries with exponential backoff and jitter (429, 408, 409, 5xx,
timeouts, dropped connections; a `Retry-After` header is honoured) and reports how many retries
a call took. This module sorts its errors into the two kinds the predict loop needs: `Fatal`
(the endpoint or the key is wrong: no point sending another row) and a per-question failure
(`QuestionFailed`: that row is rejected with the reason and sent again by the next `--resume`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import openai

from spar_hf.errors import SparError


class Fatal(SparError):
    """The endpoint cannot answer any question (unreachable, bad key, unknown model or route)."""


class QuestionFailed(Exception):
    """This question got no answer after the retries; the message says why."""


@dataclass(frozen=True)
class Completion:
    text: str
    latency_s: float
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    retries: int


def _reason(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message or "")
        return f"HTTP {exc.status_code}: {message.splitlines()[0][:300] if message else ''}".rstrip(": ")
    cause = exc.__cause__ if isinstance(exc, openai.APIConnectionError) and exc.__cause__ else exc  # e.g. connection refused
    return str(cause).splitlines()[0][:300] if str(cause) else type(cause).__name__


class Endpoint:
    """One model behind one base URL (the OpenAI-compatible root, e.g. http://127.0.0.1:8000/v1)."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None, timeout: float = 300.0, max_retries: int = 5,
                 max_tokens: int = 100, temperature: float = 0.0):
        self.base_url = base_url
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_retries = max_retries
        # local servers ignore the key, but the client needs one to build the Authorization header
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=max_retries)

    def close(self) -> None:
        self.client.close()

    def served_models(self) -> list[str] | None:
        """The ids `/models` lists; None when the server has no such route. Fatal when unreachable or refused."""
        try:
            return [m.id for m in self.client.models.list()]
        except openai.NotFoundError:
            return None
        except openai.AuthenticationError as exc:
            raise Fatal(f"{self.base_url}: the key was refused ({_reason(exc)}); set OPENAI_API_KEY") from None
        except openai.APIConnectionError as exc:
            raise Fatal(f"{self.base_url}: cannot reach the endpoint ({_reason(exc)}); is the server running? "
                        "--base-url is the OpenAI-compatible root, e.g. http://127.0.0.1:8000/v1") from None
        except openai.APIStatusError as exc:
            raise Fatal(f"{self.base_url}/models: {_reason(exc)}") from None

    def check_model(self) -> None:
        """Fail early, with the served names, when the model is not served; warn when `/models` is missing."""
        served = self.served_models()
        if served is None:
            hint = "" if self.base_url.rstrip("/").endswith("/v1") else f" (did you mean {self.base_url.rstrip('/')}/v1?)"
            print(f"predict: warning: {self.base_url} has no /models route{hint}; cannot check the model name", file=sys.stderr)
            return
        if self.model not in served:
            shown = ", ".join(served[:20]) + (f" (and {len(served) - 20} more)" if len(served) > 20 else "")
            raise Fatal(f"model {self.model!r} is not served at {self.base_url}; it serves: {shown or 'nothing'}")

    def complete(self, messages: list[dict[str, Any]]) -> Completion:
        """One chat completion; QuestionFailed or Fatal when there is no answer after the retries."""
        start = time.perf_counter()
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=self.model, messages=messages, max_tokens=self.max_tokens, temperature=self.temperature)
            response = raw.parse()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise Fatal(f"{self.base_url}: {_reason(exc)}; set OPENAI_API_KEY") from None
        except openai.NotFoundError as exc:
            raise Fatal(f"{self.base_url}: {_reason(exc)} (model {self.model!r})") from None
        except openai.APITimeoutError:
            raise QuestionFailed(f"timed out after {self.max_retries} retries") from None
        except openai.APIConnectionError as exc:
            raise Fatal(f"{self.base_url}: lost the endpoint ({_reason(exc)})") from None
        except openai.APIStatusError as exc:
            retried = f" after {self.max_retries} retries" if exc.status_code in (408, 409, 429) or exc.status_code >= 500 else ""
            raise QuestionFailed(f"{_reason(exc)}{retried}") from None
        except openai.APIError as exc:  # a body that is not a chat completion
            raise QuestionFailed(f"bad response: {_reason(exc)}") from None
        latency = time.perf_counter() - start
        if not response.choices:
            raise QuestionFailed("response has no choices")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            latency_s=latency,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            finish_reason=choice.finish_reason,
            retries=raw.retries_taken,
        )
