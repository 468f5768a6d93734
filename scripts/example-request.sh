#!/usr/bin/env bash
# Prints a ready-to-paste signed POST /orders for the local stack (valid for
# the timestamp window, 300 s by default), and the recipe behind it.
# Usage: scripts/example-request.sh [CLIENT_ID SECRET]
. "$(dirname "$0")/lib.sh"
client="${1:-demo}"
secret="${2:-dev-only-demo-secret}"
order_id="ord-$(date +%s)-$RANDOM"
body="{\"order_id\":\"$order_id\",\"customer_id\":\"cust-42\",\"currency\":\"EUR\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price_cents\":1250}],\"total_cents\":2500}"
ts="$(date +%s)"
# String to sign: <timestamp> \n POST \n /orders \n <raw body bytes>
sig="$(printf '%s\nPOST\n/orders\n%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"
cat <<TXT
Signed example request (paste it within 300 s):

curl -sS -i http://127.0.0.1:$INGRESS_PORT/orders \\
  -H 'Content-Type: application/json' \\
  -H 'X-Client-Id: $client' \\
  -H 'X-Timestamp: $ts' \\
  -H 'X-Signature: sha256=$sig' \\
  --data-binary '$body'

The signature is HMAC-SHA256 over "<X-Timestamp>\\nPOST\\n/orders\\n<body>":
  printf '%s\\nPOST\\n/orders\\n%s' "\$ts" "\$body" | openssl dgst -sha256 -hmac "\$secret" -r
TXT
