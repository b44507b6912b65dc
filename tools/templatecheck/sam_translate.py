#!/usr/bin/env python3
"""Transforms template.yaml with the AWS SAM translator, offline, as `sam validate` does.

Local CodeUri values are replaced with a placeholder S3 URI first (sam package would
upload them); everything else is translated as written. Exits non-zero on any error.
"""
import json
import os
import re
import sys

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def get_policies(self):
        return {}


def main(path):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    placeholder = "s3://sam-translate-check/bootstrap.zip"
    fn_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in fn_globals:
        fn_globals["CodeUri"] = placeholder
    for res in template.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function" and "CodeUri" in res.get("Properties", {}):
            res["Properties"]["CodeUri"] = placeholder
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        body = res["Properties"]["DashboardBody"]
        if isinstance(body, dict) and "Fn::Sub" in body:
            body = body["Fn::Sub"]
        try:
            json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
        except ValueError as e:
            print("sam-translate: %s DashboardBody is not JSON: %s" % (name, e), file=sys.stderr)
            return 1
    try:
        out = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print("sam-translate:", cause.message, file=sys.stderr)
        return 1
    print("sam-translate: %s transforms into %d CloudFormation resources" % (path, len(out["Resources"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
