# Ported from testNamedImageContextTimestamps in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
build_ok "the alpine stand-in" -t alpine -f alpine/Dockerfile alpine
T=localhost:5000/buildkit/testnamedimagecontexttimestamps:latest
build_ok "the base image" -t $T -f base/Dockerfile base
sleep 1
build_ok "derived with context:alpine=docker-image://TARGET" --build-context alpine=docker-image://$T \
  -t localhost:5000/buildkit/testnamedimagecontexttimestampsderived:latest "$CTX"
c1=$(img_cfg $T) || exit 1
c2=$(img_cfg localhost:5000/buildkit/testnamedimagecontexttimestampsderived:latest) || exit 1
python3 - "$c1" "$c2" <<'PY' || fail "created: the derived image's time is not after the base's by less than 10 minutes"
import json, sys, datetime
def t(p):
    s = json.load(open(p))["created"]
    s = s.rstrip("Z").split(".")[0]
    return datetime.datetime.fromisoformat(s)
d = (t(sys.argv[2]) - t(sys.argv[1])).total_seconds()
sys.exit(0 if 0 < d < 600 else 1)
PY
