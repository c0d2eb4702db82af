-- Run once by the postgres image on first start: the Prefect server's own database.
CREATE DATABASE prefect OWNER carepath;
