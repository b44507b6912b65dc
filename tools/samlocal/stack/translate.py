# Reads a SAM template on stdin and prints, as JSON, what the local stack
# reads from it: the template as written (short-form intrinsics in their
# JSON form), its resources' order, each function's CodeUri, and the AWS
# SAM translator's CloudFormation (Globals merged into the functions, policy
# templates expanded into their roles' statements).
import json
import os
import sys

try:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
    from samtranslator.public.exceptions import InvalidDocumentException
except ImportError:
    sys.exit(3)


class NoManagedPolicies:
    def get_policies(self):
        return {}


os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
source = yaml_parse(sys.stdin.read())
if not isinstance(source, dict):
    sys.exit("the template is not a mapping")
template = json.loads(json.dumps(source, default=str))
fn_globals = template.get("Globals", {}).get("Function", {})
code_uri = {}
for name, res in template.get("Resources", {}).items():
    if res.get("Type") == "AWS::Serverless::Function":
        props = res.setdefault("Properties", {})
        code_uri[name] = props.get("CodeUri", fn_globals.get("CodeUri", "."))
        props["CodeUri"] = "s3://samlocal/bootstrap.zip"  # the translator wants an S3 URI
fn_globals.pop("CodeUri", None)
try:
    translated = transform(template, {}, NoManagedPolicies())
except InvalidDocumentException as e:
    sys.exit("; ".join(cause.message for cause in e.causes))
json.dump({"Source": source, "Order": list(source.get("Resources", {})), "CodeUri": code_uri, "Translated": translated}, sys.stdout, default=str)
