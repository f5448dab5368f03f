#!/bin/sh
set -eu
curl -H "Authorization: Bearer {{B64_40}}" https://api.example.com/deploy
mytool --api-token '{{B64_24}}' --region eu-west-1
aws s3 ls # AKIAIOSFODNN7EXAMPLE
echo "$API_KEY"
