#!/usr/bin/env python3
"""Reads mkimage's build-check output and prints one "LINE|Rule|detail" line per
warning, sorted as BuildKit's tests sort them (line, then detail).

usage: checkwarn.py check FILE   # `mkimage build --check` stdout (buildx's lint report)
       checkwarn.py build FILE   # `mkimage build --progress plain` output (buildx's summary)

The description and URL of each warning are checked against BuildKit's
(frontend/dockerfile/dockerfile_check_test.go expectations); a mismatch prints a
"BAD ..." line, which then differs from the expected list.
"""
import re
import sys

DESC = {
    "StageNameCasing": "Stage names should be lowercase",
    "FromAsCasing": "The 'as' keyword should match the case of the 'from' keyword",
    "NoEmptyContinuation": "Empty continuation lines will become errors in a future release",
    "ConsistentInstructionCasing": "All commands within the Dockerfile should use the same casing (either upper or lower)",
    "DuplicateStageName": "Stage names should be unique",
    "ReservedStageName": "Reserved words should not be used as stage names",
    "JSONArgsRecommended": "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
    "MaintainerDeprecated": "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
    "UndefinedArgInFrom": "FROM command must use declared ARGs",
    "WorkdirRelativePath": "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
    "UndefinedVar": "Variables should be defined before their use",
    "MultipleInstructionsDisallowed": "Multiple instructions of the same type should not be used in the same stage",
    "LegacyKeyValueFormat": "Legacy key/value format with whitespace separator should not be used",
    "InvalidBaseImagePlatform": "Base image platform does not match expected target platform",
    "RedundantTargetPlatform": "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
    "SecretsUsedInArgOrEnv": "Sensitive data should not be used in the ARG or ENV commands",
    "InvalidDefaultArgInFrom": "Default value for global ARG results in an empty or invalid base image name",
    "FromPlatformFlagConstDisallowed": "FROM --platform flag should not use a constant value",
    "CopyIgnoredFile": "Attempting to Copy file that is excluded by .dockerignore",
    "InvalidDefinitionDescription": "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.",
    "ExposeProtoCasing": "Protocol in EXPOSE instruction should be lowercase",
    "ExposeInvalidFormat": "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release",
}


def url(rule):
    if rule == "InvalidBaseImagePlatform":
        return ""
    kebab = re.sub(r"(?<=[a-z])(?=[A-Z])", "-", rule.replace("JSONArgs", "JsonArgs")).lower()
    return "https://docs.docker.com/go/dockerfile/rule/%s/" % kebab


def parse_check(lines):
    out = []
    for i, l in enumerate(lines):
        m = re.match(r"^WARNING: (\w+)(?: - (\S+))?$", l)
        if not m:
            continue
        rule, u = m.group(1), m.group(2) or ""
        detail = lines[i + 1] if i + 1 < len(lines) else ""
        src = lines[i + 2] if i + 2 < len(lines) else ""
        lm = re.match(r"^\S+:(\d+)$", src)
        line = lm.group(1) if lm else "0"
        if u != url(rule):
            out.append((0, "BAD url %r for %s" % (u, rule)))
        out.append((int(line), "%s|%s|%s" % (line, rule, detail)))
    return out


def parse_build(lines):
    out = []
    for i, l in enumerate(lines):
        m = re.match(r"^ - (\w+): (.*) \(line (\d+)\)$", l)
        if not m:
            continue
        rule, detail, line = m.groups()
        desc = lines[i + 1] if i + 1 < len(lines) else ""
        if desc != DESC.get(rule):
            out.append((0, "BAD description %r for %s" % (desc, rule)))
        more = lines[i + 2] if i + 2 < len(lines) else ""
        if url(rule) and more != "More info: " + url(rule):
            out.append((0, "BAD url line %r for %s" % (more, rule)))
        out.append((int(line), "%s|%s|%s" % (line, rule, detail)))
    return out


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    items = parse_check(lines) if mode == "check" else parse_build(lines)
    items.sort(key=lambda t: (t[0], t[1].split("|", 2)[-1]))
    for _, text in items:
        print(text)


main()
