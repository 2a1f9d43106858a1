#!/usr/bin/env bash
# Every instruction end to end (FROM scratch + busybox, offline): the files they
# make (content, mode, uid/gid, symlinks), the config fields, the history, and
# that a second build is CACHED throughout.
. "$(dirname "$0")/build_helpers.inc"
ctx c
mkdir -p c/files/sub tarsrc/pkg
printf 'a\n' >c/files/a.txt; printf 'b\n' >c/files/sub/b.txt
printf 'from the tar\n' >tarsrc/pkg/x.txt
tar -C tarsrc -cf c/archive.tar pkg
cat >c/Dockerfile <<'DF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /etc /tmp && printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >/etc/passwd && printf 'root:x:0:\napp:x:1000:\n' >/etc/group
ONBUILD RUN echo triggered >/onbuild.txt

FROM base AS app
ARG VERSION=1.0
ENV APP_VERSION=$VERSION GREETING="hello world"
LABEL org.example.version=$VERSION org.example.note="x y"
MAINTAINER someone@example.com
WORKDIR /srv/app
COPY --chown=app:app --chmod=640 files/ conf/
ADD archive.tar /unpacked/
COPY --chmod=755 <<EOF /usr/local/bin/hello
#!/bin/sh
echo "hello $APP_VERSION"
EOF
USER app
RUN whoami >conf/whoami.txt && id -u >conf/uid.txt
USER root
SHELL ["/bin/sh", "-e", "-c"]
RUN ln -s conf/a.txt link-to-a && echo "$GREETING $VERSION" >greeting.txt
RUN true
WORKDIR /
WORKDIR srv/app
EXPOSE 80 443/tcp 53/udp
VOLUME /data
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O- http://localhost/ || exit 1
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/usr/local/bin/hello"]
CMD ["--help"]
DF
b 1 -t inst:1 --output type=oci,dest=img.tar c
b 2 --output type=local,dest=out c
for s in 'COPY busybox' '--install' 'RUN mkdir -p /etc' 'WORKDIR /srv/app' 'COPY --chown=app:app' 'ADD archive.tar' \
         'COPY --chmod=755' 'RUN whoami' 'RUN ln -s'; do
  cache 1 "$s" MISS; cache 2 "$s" HIT
done
# files
is out/onbuild.txt $'triggered\n'
is out/srv/app/conf/a.txt $'a\n'; meta out/srv/app/conf/a.txt '1000:1000 640'
is out/srv/app/conf/sub/b.txt $'b\n'; meta out/srv/app/conf/sub/b.txt '1000:1000 640'
is out/unpacked/pkg/x.txt $'from the tar\n'
is out/usr/local/bin/hello $'#!/bin/sh\necho "hello 1.0"\n'; meta out/usr/local/bin/hello '0:0 755'
is out/srv/app/conf/whoami.txt $'app\n'; meta out/srv/app/conf/whoami.txt '1000:1000 644'
is out/srv/app/greeting.txt $'hello world 1.0\n'
[ "$(readlink out/srv/app/link-to-a)" = conf/a.txt ] || fail "link-to-a is not a symlink to conf/a.txt"
# config
img img.tar 'env' '["APP_VERSION=1.0", "GREETING=hello world"]'
img img.tar 'c.get("Labels")' '{"org.example.note": "x y", "org.example.version": "1.0"}'
img img.tar 'cfg.get("author")' '"someone@example.com"'
img img.tar 'c.get("WorkingDir")' '"/srv/app"'
img img.tar 'c.get("User")' '"root"'
img img.tar 'c.get("ExposedPorts")' '{"443/tcp": {}, "53/udp": {}, "80/tcp": {}}'
img img.tar 'c.get("Volumes")' '{"/data": {}}'
img img.tar 'c.get("Healthcheck")' '{"Test": ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"], "Interval": 30000000000, "Timeout": 5000000000, "Retries": 3}'
img img.tar 'c.get("StopSignal")' '"SIGQUIT"'
img img.tar 'c.get("Entrypoint")' '["/usr/local/bin/hello"]'
img img.tar 'c.get("Cmd")' '["--help"]'
img img.tar 'c.get("Shell")' '["/bin/sh", "-e", "-c"]'
img img.tar 'c.get("OnBuild") or []' '[]'
# RUN true and WORKDIR of an existing dir change nothing and still have their
# (empty) layers; WORKDIR / has none (BuildKit)
img img.tar 'len(diff_ids)' 12
img img.tar 'len([h for h in hist if not h.get("empty_layer")])' 12
img img.tar '[h.get("empty_layer", False) for h in hist if h["created_by"].startswith(("RUN |1 VERSION=1.0 /bin/sh -e -c true", "WORKDIR "))]' '[false, false, true, false]'
img img.tar '[h["created_by"] for h in hist if h["created_by"].startswith("EXPOSE")]' '["EXPOSE [443/tcp 53/udp 80/tcp]"]'
img img.tar 'all(h.get("comment") == "buildkit.dockerfile.v0" for h in hist)' true
img img.tar '[h["created_by"] for h in hist if h["created_by"].startswith("ENV")]' '["ENV APP_VERSION=1.0 GREETING=hello world"]'
img img.tar 'any(h["created_by"].startswith("RUN |1 VERSION=1.0 /bin/sh -e -c ln -s") for h in hist)' true
# a build arg changes ENV and misses from the ARG on
b 3 --build-arg VERSION=2.0 --output type=oci,dest=img2.tar c
cache 3 'COPY busybox' HIT 'WORKDIR /srv/app' MISS 'RUN ln -s' MISS
img img2.tar 'env' '["APP_VERSION=2.0", "GREETING=hello world"]'
pass
