"""One ComponentResource per concern; `platform.build_platform` composes them for a stack."""
