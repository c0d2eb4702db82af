# The carepath application image (web app, CLI, Prefect worker).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY carepath ./carepath
COPY pathways ./pathways
COPY flows ./flows
COPY models ./models
COPY migrations ./migrations
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --home /app carepath
USER carepath
EXPOSE 8000
CMD ["carepath", "serve", "--host", "0.0.0.0", "--port", "8000"]
