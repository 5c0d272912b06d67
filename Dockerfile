# One image for all four services; docker-compose.yml picks the service with `recruit service NAME`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install . && useradd --system --uid 10001 recruit
USER recruit

EXPOSE 8001 8002 8003 8004
ENTRYPOINT ["recruit"]
CMD ["service", "intake"]
