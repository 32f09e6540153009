# One image runs the web service (`kneeguard serve`), a worker (`kneeguard worker`) or a one-shot
# command (`kneeguard db upgrade`). Health checks are per service, in docker-compose.yml.
# PYTHON_IMAGE: any Debian-based Python 3.11 with venv (deploy/base-images.sh builds one locally).
ARG PYTHON_IMAGE=python:3.11-slim

# Dependencies, pinned, in their own stage: a source change reinstalls and recopies none of them.
# The running service needs neither the installers, nor the libraries' own test suites, C headers,
# Cython sources and type stubs, nor the bytecode of modules it never imports: only the modules
# deploy/runtime-imports.txt names (and what they import) are byte-compiled (docs/decisions.md,
# "Issue 27: the two open figures").
FROM ${PYTHON_IMAGE} AS deps
# A package index of your own (a mirror, or a proxy of PyPI): --build-arg PIP_INDEX_URL=https://…
ARG PIP_INDEX_URL
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Two dependencies are compiled here, so this stage (only) has a compiler: numpy without a BLAS
# (its bundled lapack_lite; the wheel's OpenBLAS is 28.5 MB and the service's linear algebra is one
# 2x2 eigh) and psycopg's C implementation against the distribution's libpq (libpq5 in the final
# image) instead of psycopg-binary, the wheel a workstation installs, whose bundled libpq, OpenSSL,
# Kerberos and LDAP are 9.2 MB. Python's headers come with python:3.11-slim; Debian's own python3
# needs python3-dev. Not pinned: these follow the base image's distribution.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ libpq-dev \
    && include="$(python3 -c "import sysconfig; print(sysconfig.get_path('include'))")" \
    && { [ -e "$include/Python.h" ] || apt-get install -y --no-install-recommends python3-dev; } \
    && rm -rf /var/lib/apt/lists/*
COPY constraints.txt deploy/build-tools.txt deploy/runtime-imports.txt /src/
# Debian's pip (23.0) cannot pass numpy several build options: the pinned one can.
RUN python -m venv /opt/venv && pip install --no-cache-dir "$(grep "^pip==" /src/build-tools.txt)"
ENV PIP_CONSTRAINT=/src/build-tools.txt
# numpy first, in its own layer (the slow step: a few minutes): runtime files only (no tests or
# headers).
RUN pip install --no-cache-dir --no-compile --no-binary numpy \
       -Csetup-args=-Dblas=none -Csetup-args=-Dlapack=none -Csetup-args=-Dallow-noblas=true \
       -Cinstall-args=--tags=runtime,python-runtime "$(grep "^numpy==" /src/constraints.txt)" \
    && find /opt/venv -name "*.so" -path "*/numpy/*" -exec strip --strip-unneeded {} +
# Then the pins, with psycopg-c (psycopg's own version) in place of psycopg-binary.
RUN grep -v "^psycopg-binary==" /src/constraints.txt >/src/image-constraints.txt \
    && sed -n "s/^psycopg==/psycopg-c==/p" /src/constraints.txt >>/src/image-constraints.txt \
    && pip install --no-cache-dir --no-compile -r /src/image-constraints.txt \
    && find /opt/venv -name "*.so" -path "*/psycopg_c/*" -exec strip --strip-unneeded {} + \
    && pip uninstall --yes --quiet setuptools wheel pip \
    && find /opt/venv -depth \( -name __pycache__ -o -path "*/site-packages/*/tests" \) -type d \
       -exec rm -rf {} + \
    && find /opt/venv/lib \( -name "*.pyi" -o -name "*.h" -o -name "*.pyx" -o -name "*.pxd" \
       -o -name "*.pxi" \) -type f -delete \
    && python -c "import importlib, sys; [importlib.import_module(n) for n in \
       (line.split('#')[0].strip() for line in open(sys.argv[1])) if n]" /src/runtime-imports.txt

# kneeguard itself, built with the pinned backend into /app (its console script runs /opt/venv's
# Python, the same path as in the final image).
FROM ${PYTHON_IMAGE} AS build
ARG PIP_INDEX_URL
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY constraints.txt ./
RUN grep -E "^(setuptools|wheel)==" constraints.txt > build-backend.txt \
    && pip install --no-cache-dir -r build-backend.txt
COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps --no-build-isolation --target /app .

FROM ${PYTHON_IMAGE}
# libpq for psycopg's C implementation (deps stage), from the same distribution as libpq-dev there.
# Not kept: apt's and dpkg's logs and the backup copies they leave of what they rewrote (0.3 MB).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log \
       /var/cache/debconf/*-old /var/lib/dpkg/*-old \
    && useradd --create-home --uid 10001 kneeguard \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=deps /opt/venv /opt/venv
COPY --from=build /app /opt/kneeguard
ENV PATH=/opt/kneeguard/bin:/opt/venv/bin:$PATH PYTHONPATH=/opt/kneeguard PYTHONUNBUFFERED=1 \
    KNEEGUARD_DATA_DIR=/data
# python:3.11-slim keeps no bytecode for its standard library and the service user cannot write
# any: compile the ~230 standard-library modules kneeguard imports (~6 MB), or every process start
# compiles them again (about 1 s of CPU; a worker's health check runs every 30 s).
COPY deploy/runtime-imports.txt deploy/stdlib-bytecode.py /tmp/build/
RUN python /tmp/build/stdlib-bytecode.py /tmp/build/runtime-imports.txt && rm -rf /tmp/build
USER 10001
WORKDIR /home/kneeguard
EXPOSE 8000
CMD ["kneeguard", "serve", "--host", "0.0.0.0", "--port", "8000"]
