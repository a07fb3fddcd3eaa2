# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
# Dependency layer: only pyproject changes invalidate it.
COPY pyproject.toml README.md ./
RUN mkdir -p src/qbo_integration && touch src/qbo_integration/__init__.py \
    && /venv/bin/pip install . && /venv/bin/pip uninstall -y qbo-integration
COPY src ./src
RUN /venv/bin/pip install --no-deps .

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 app
COPY --from=build /venv /venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
# API by default; run the worker with: docker run IMAGE qbo-integration worker
# Migrations: docker run IMAGE qbo-integration migrate
CMD ["qbo-integration", "serve", "--host", "0.0.0.0", "--port", "8000"]
