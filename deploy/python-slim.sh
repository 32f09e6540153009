#!/bin/sh
# python:3.11-slim's build, run by deploy/base-images.sh inside a Debian bookworm-slim stand-in:
# the RUN steps of docker-library/python's 3.11/slim-bookworm Dockerfile (the official image's own
# recipe), changed only where marked. Expects Python's source at /usr/src/python.tar.gz.
set -eux

# runtime dependencies: ca-certificates, netbase and tzdata (installed by base-images.sh).

savedAptMark="$(apt-mark showmanual)"
apt-get update
apt-get install -y --no-install-recommends \
	dpkg-dev gcc gnupg libbluetooth-dev libbz2-dev libc6-dev libdb-dev libffi-dev libgdbm-dev \
	liblzma-dev libncursesw5-dev libreadline-dev libsqlite3-dev libssl-dev make tk-dev uuid-dev \
	wget xz-utils zlib1g-dev

# changed: the source comes from Debian's mirror, already checked (no python.org, no GPG here)
mkdir -p /usr/src/python
tar --extract --directory /usr/src/python --strip-components=1 --file /usr/src/python.tar.gz
rm /usr/src/python.tar.gz

cd /usr/src/python
gnuArch="$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)"
# changed: no --enable-optimizations (profile-guided optimisation runs the test suite to build the
# same files faster; it changes speed, not what is installed)
./configure \
	--build="$gnuArch" \
	--enable-loadable-sqlite-extensions \
	--enable-option-checking=fatal \
	--enable-shared \
	$(test "${gnuArch%%-*}" != 'riscv64' && echo '--with-lto') \
	--with-ensurepip
nproc="$(nproc)"
EXTRA_CFLAGS="$(dpkg-buildflags --get CFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
LDFLAGS="${LDFLAGS:-} -Wl,--strip-all"
make -j "$nproc" "EXTRA_CFLAGS=${EXTRA_CFLAGS:-}" "LDFLAGS=${LDFLAGS:-}"
rm python
make -j "$nproc" "EXTRA_CFLAGS=${EXTRA_CFLAGS:-}" "LDFLAGS=${LDFLAGS:-} -Wl,-rpath='\$\$ORIGIN/../lib'" python
make install

cd /
rm -rf /usr/src/python

find /usr/local -depth \
	\( \
		\( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
		-o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \
	\) -exec rm -rf '{}' +

ldconfig

apt-mark auto '.*' > /dev/null
apt-mark manual $savedAptMark
find /usr/local -type f -executable -not \( -name '*tkinter*' \) -exec ldd '{}' ';' \
	| awk '/=>/ { so = $(NF-1); if (index(so, "/usr/local/") == 1) { next }; gsub("^/(usr/)?", "", so); printf "*%s\n", so }' \
	| sort -u \
	| xargs -rt dpkg-query --search \
	| awk 'sub(":$", "", $1) { print $1 }' \
	| sort -u \
	| xargs -r apt-mark manual
apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false
rm -rf /var/lib/apt/lists/*

export PYTHONDONTWRITEBYTECODE=1
python3 --version

pip3 install --disable-pip-version-check --no-cache-dir --no-compile 'setuptools==79.0.1' 'wheel<0.46'
pip3 --version

# make some useful symlinks that are expected to exist ("/usr/local/bin/python" and friends)
for src in idle3 pip3 pydoc3 python3 python3-config; do
	dst="$(echo "$src" | tr -d 3)"
	[ -s "/usr/local/bin/$src" ]
	[ ! -e "/usr/local/bin/$dst" ]
	ln -svT "$src" "/usr/local/bin/$dst"
done
