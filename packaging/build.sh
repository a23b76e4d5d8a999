#!/usr/bin/env bash
# Builds what people install, into OUT (default artifacts/):
#   GateStream.Cli.VERSION.nupkg   the gatestream .NET tool (dotnet tool install -g GateStream.Cli --add-source OUT)
#   gatestream_VERSION_amd64.deb   a self-contained gatestreamd and gatestream for linux-x64, the systemd unit,
#                                  /etc/gatestream (gatestream.json, policies/), a system user (maintainer scripts)
# Needs the .NET 10 SDK and dpkg-deb. VERSION comes from $VERSION (default 1.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-artifacts}" && cd "${1:-artifacts}" && pwd)
version=${VERSION:-1.0.0}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v dpkg-deb >/dev/null || { echo "packaging/build.sh: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }
started=$SECONDS

# 1. The .NET tool (librdkafka for linux-x64 and linux-arm64 only: see src/GateStream.Cli/GateStream.Cli.csproj).
dotnet pack src/GateStream.Cli -c Release -o "$out" -p:Version="$version" --nologo -v quiet

# 2. Both programs, self-contained for linux-x64, into one directory (they share the runtime's files).
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
app="$stage/opt/gatestream"
for project in src/GateStream.Daemon src/GateStream.Cli; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained -o "$app" -p:Version="$version" \
    -p:DebugType=none --nologo -v quiet
done
# Debian needs the glibc build of librdkafka only; the Alpine and CentOS builds are 24 MB of nothing.
rm -f "$app"/alpine-librdkafka.so "$app"/centos8-librdkafka.so "$app"/appsettings.Development.json "$app"/*.xml
rm -rf "$app"/policies   # the packaged daemon reads /etc/gatestream/policies
cp README.md "$app"/

# 3. The unit, configuration, policy directory, documentation.
install -d "$stage/lib/systemd/system" "$stage/etc/gatestream/policies" "$stage/usr/bin" "$stage/usr/share/doc/gatestream" "$stage/DEBIAN"
# A static system user (made by postinst) instead of DynamicUser=, so the tokens file can be shared with it.
sed -e 's/^DynamicUser=yes$/User=gatestream\nGroup=gatestream/' systemd/gatestream.service > "$stage/lib/systemd/system/gatestream.service"
grep -q '^User=gatestream$' "$stage/lib/systemd/system/gatestream.service"
cp packaging/debian/gatestream.json "$stage/etc/gatestream/gatestream.json"
cp packaging/debian/policies-README "$stage/etc/gatestream/policies/README"
cp src/GateStream.Daemon/policies/demo-api.yaml "$stage/usr/share/doc/gatestream/example-policy.yaml"
cp systemd/gatestream.env.example "$stage/usr/share/doc/gatestream/gatestream.env.example"
ln -s /opt/gatestream/gatestreamd "$stage/usr/bin/gatestreamd"
ln -s /opt/gatestream/gatestream "$stage/usr/bin/gatestream"

# 4. Control files and maintainer scripts.
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
printf '/etc/gatestream/gatestream.json\n/etc/gatestream/policies/README\n' > "$stage/DEBIAN/conffiles"
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$stage" | cut -f1)/" packaging/debian/control > "$stage/DEBIAN/control"

# Modes as Debian expects them (the publish output and mktemp's 0700 are not).
chmod 0755 "$stage"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$app/gatestreamd" "$app/gatestream" "$app/createdump" "$stage"/DEBIAN/postinst "$stage"/DEBIAN/prerm "$stage"/DEBIAN/postrm

deb="$out/gatestream_${version}_amd64.deb"
# gzip: every dpkg reads it, and it compresses this tree several times faster than xz on a small machine.
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "packaging/build.sh: $(basename "$deb") ($(du -h "$deb" | cut -f1)) and GateStream.Cli.$version.nupkg ($(du -h "$out/GateStream.Cli.$version.nupkg" | cut -f1)) in $out, $((SECONDS - started)) s"
