# The control plane's image for Docker hosts (docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY controlplane ./controlplane
RUN pip install --no-cache-dir . && useradd --system --no-create-home controlplane
USER controlplane
CMD ["controlplane", "serve", "--config", "/etc/controlplane/demo.toml"]
