-- Run by the postgres image on the first start of its volume (docker-compose.yml): the service uses the database
-- `cutover` (POSTGRES_DB), Unleash its own, as in the integration tests (a database per server).
CREATE DATABASE unleash;
