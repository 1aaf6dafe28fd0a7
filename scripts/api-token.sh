#!/usr/bin/env bash
# Prints an ID token for the JSON API from the local OpenID provider, for
# USER (alice, bob, ada or mallory; password sepal-dev):
#
#   TOKEN=$(scripts/api-token.sh alice)
#   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/api/v1/model
#
# It is the authorization code flow with PKCE, as Sepal runs it, done with
# curl: sign in on the provider's form, take the code from the redirect to
# Sepal's callback (without following it), exchange it as Sepal's client.
# The token's audience is Sepal's client id, which the API accepts by default.
# Settings: SEPAL_PUBLIC_URL (http://127.0.0.1:3000), SEPAL_OIDC_ISSUER
# (http://127.0.0.1:4000), SEPAL_OIDC_CLIENT_ID / _SECRET (the dev client's).
set -euo pipefail

user=${1:?usage: scripts/api-token.sh USER}
app=${SEPAL_PUBLIC_URL:-http://127.0.0.1:3000}
issuer=${SEPAL_OIDC_ISSUER:-http://127.0.0.1:4000}
client=${SEPAL_OIDC_CLIENT_ID:-sepal}
secret=${SEPAL_OIDC_CLIENT_SECRET:-sepal-dev-secret}
callback=$app/auth/callback
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

discovery=$(curl -sSf "$issuer/.well-known/openid-configuration")
authorize=$(json_field authorization_endpoint <<<"$discovery")
token_endpoint=$(json_field token_endpoint <<<"$discovery")

verifier=$(openssl rand 48 | b64url)
challenge=$(printf %s "$verifier" | openssl dgst -binary -sha256 | b64url)
state=$(openssl rand -hex 16)
nonce=$(openssl rand -hex 16)

# The provider's sign-in page, then its form.
login=$(curl -sSf -c "$jar" -b "$jar" -L -o /dev/null -w '%{url_effective}' -G "$authorize" \
  --data-urlencode "client_id=$client" --data-urlencode "response_type=code" \
  --data-urlencode "scope=openid profile email" --data-urlencode "redirect_uri=$callback" \
  --data-urlencode "code_challenge=$challenge" --data-urlencode "code_challenge_method=S256" \
  --data-urlencode "state=$state" --data-urlencode "nonce=$nonce")
next=$(curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' \
  --data-urlencode "login=$user" --data-urlencode "password=sepal-dev" "$login/login")
# Follow the provider's own redirects until it sends the browser to Sepal.
for _ in $(seq 10); do
  [[ $next == "$callback?"* || -z $next ]] && break
  next=$(curl -sSf -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$next")
done
[[ $next == "$callback?"* ]] || { echo "sign-in as $user did not reach $callback (wrong password?)" >&2; exit 1; }
code=$(python3 -c 'import sys, urllib.parse as u; q = u.parse_qs(u.urlparse(sys.argv[1]).query); print(q["code"][0] if q.get("state") == [sys.argv[2]] else "")' "$next" "$state")
[[ -n $code ]] || { echo "the provider answered without a code or with another state: $next" >&2; exit 1; }

curl -sSf -u "$client:$secret" --data-urlencode grant_type=authorization_code \
  --data-urlencode "code=$code" --data-urlencode "redirect_uri=$callback" \
  --data-urlencode "code_verifier=$verifier" "$token_endpoint" | json_field id_token
