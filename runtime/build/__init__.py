"""The builder: Dockerfile steps run as containers, COPY/ADD sources, RUN mounts, the build cache."""
