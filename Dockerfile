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
RUN python -m venv /opt/venv
COPY constraints.txt deploy/runtime-imports.txt /src/
RUN pip install --no-cache-dir --no-compile -r /src/constraints.txt \
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
RUN useradd --create-home --uid 10001 kneeguard \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=deps /opt/venv /opt/venv
COPY --from=build /app /opt/kneeguard
ENV PATH=/opt/kneeguard/bin:/opt/venv/bin:$PATH PYTHONPATH=/opt/kneeguard PYTHONUNBUFFERED=1 \
    KNEEGUARD_DATA_DIR=/data
USER 10001
WORKDIR /home/kneeguard
EXPOSE 8000
CMD ["kneeguard", "serve", "--host", "0.0.0.0", "--port", "8000"]
