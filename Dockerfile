# One image for every pricehound process: worker, beat, the HTTP service and one-off commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Debian's Chromium renders the pages of stores added with --render js (spiders/rendering.py)
RUN apt-get update && apt-get install -y --no-install-recommends chromium && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt README.md schema.sql celeryconfig.py scrapy.cfg ./
COPY pricehound ./pricehound
COPY spiders ./spiders
COPY pipelines ./pipelines
COPY workers ./workers
COPY alerts ./alerts
COPY web ./web
COPY demostore ./demostore
# Pinned by constraints.txt; no embedded servers (the `embedded` extra): the image is given
# DATABASE_URL and REDIS_URL.
RUN pip install -c constraints.txt . && useradd --create-home pricehound
USER pricehound
ENV PRICEHOUND_DATA_DIR=/home/pricehound/data
CMD ["pricehound", "--help"]
