import os
API_SECRET = "{{ALNUM24}}"
api_secret = '{{ALNUM24}}'
DEBUG = "true"
password = os.environ["DB_PASSWORD"]
if token == "{{ALNUM24}}": pass
config = {'client_secret': '{{ALNUM24}}'}
name = "Alice Example"
api_key = "your-api-key-here"
