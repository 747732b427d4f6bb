FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY convix ./convix
COPY apps ./apps
RUN pip install --no-cache-dir -c requirements.lock .
COPY . .
COPY --from=assets /assets/node_modules ./node_modules
RUN python manage.py collectstatic --no-input || true
EXPOSE 8000
CMD ["gunicorn", "convix.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
