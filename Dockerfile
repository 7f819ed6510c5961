# One image for every pricehound process: worker, beat, the HTTP service and one-off commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md schema.sql celeryconfig.py scrapy.cfg ./
COPY pricehound ./pricehound
COPY spiders ./spiders
COPY pipelines ./pipelines
COPY workers ./workers
COPY alerts ./alerts
COPY web ./web
COPY demostore ./demostore
RUN pip install . && useradd --create-home pricehound
USER pricehound
ENV PRICEHOUND_DATA_DIR=/home/pricehound/data
CMD ["pricehound", "--help"]
