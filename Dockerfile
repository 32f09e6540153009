# One image runs the web service (`kneeguard serve`), a worker (`kneeguard worker`) or a one-shot
# command (`kneeguard db upgrade`). Health checks are per service, in docker-compose.yml.
# PYTHON_IMAGE: any Debian-based Python 3.11 with venv (deploy/base-images.sh builds one locally).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# A package index of your own (a mirror, or a proxy of PyPI): --build-arg PIP_INDEX_URL=https://…
ARG PIP_INDEX_URL
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first, pinned, in their own layer: a source change reinstalls none of them.
COPY constraints.txt ./
RUN pip install --no-cache-dir -r constraints.txt
COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

FROM ${PYTHON_IMAGE}
RUN useradd --create-home --uid 10001 kneeguard \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 KNEEGUARD_DATA_DIR=/data
USER 10001
WORKDIR /home/kneeguard
EXPOSE 8000
CMD ["kneeguard", "serve", "--host", "0.0.0.0", "--port", "8000"]
