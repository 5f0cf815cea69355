"""A throwaway token issuer for tests: its own RSA key, tokens with any grants."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from binhyen.kit.auth import Grant, grants_claim


class TestIssuer:
    """Mints RS256 tokens that services configured with ``jwks_json`` accept."""

    __test__ = False  # not a test class

    def __init__(self, *, issuer: str = "http://issuer.test", audience: str = "binhyen") -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex[:12]
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        self.jwks: dict[str, Any] = {
            "keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]
        }

    @property
    def jwks_json(self) -> str:
        """The JWKS document as JSON text (for ``auth_jwks_json``)."""
        return json.dumps(self.jwks)

    def token(
        self,
        *grants: tuple[str, str],
        subject: str | None = None,
        kind: str = "user",
        ttl: int = 600,
        **claims: Any,
    ) -> str:
        """A signed token with grants given as (role, unit id) pairs."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject or f"user-{uuid.uuid4().hex[:8]}",
            "iat": now,
            "exp": now + ttl,
            "kind": kind,
            "grants": grants_claim([Grant(role, unit) for role, unit in grants]),
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.kid})

    def headers(self, *grants: tuple[str, str], **kwargs: Any) -> dict[str, str]:
        """An Authorization header with a token for these grants."""
        return {"Authorization": f"Bearer {self.token(*grants, **kwargs)}"}
