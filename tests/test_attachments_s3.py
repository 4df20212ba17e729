"""The attachment route tests whose claims hold for any backend, collected here a second time
with CHATD_STORAGE=s3 (a bucket of their own on the loopback S3 server): this module's `client`
replaces conftest's for them. Serving (a redirect instead of a file) and cleanup (objects instead
of files) differ by backend and are tested for S3 in test_s3.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatd.app import create_app

from test_attachments import (
    test_a_tampered_or_expired_link_is_403, test_an_image_upload_has_its_detected_type_and_dimensions,
    test_search_has_attachment_and_mention, test_sending_someone_elses_another_channels_or_a_used_upload_is_refused_and_stores_nothing,
    test_text_is_text_plain_and_other_bytes_octet_stream_whatever_the_client_says,
    test_two_sends_racing_for_one_upload_attach_it_once, test_uploading_into_a_conversation_works_and_a_blocked_one_is_403,
    test_uploading_where_you_cannot_send_is_404_for_outsiders,
)

__all__ = [
    "test_a_tampered_or_expired_link_is_403", "test_an_image_upload_has_its_detected_type_and_dimensions",
    "test_search_has_attachment_and_mention",
    "test_sending_someone_elses_another_channels_or_a_used_upload_is_refused_and_stores_nothing",
    "test_text_is_text_plain_and_other_bytes_octet_stream_whatever_the_client_says",
    "test_two_sends_racing_for_one_upload_attach_it_once", "test_uploading_into_a_conversation_works_and_a_blocked_one_is_403",
    "test_uploading_where_you_cannot_send_is_404_for_outsiders",
]


@pytest.fixture
async def client(aiohttp_client, config, db, s3_settings):
    """chatd with CHATD_STORAGE=s3, for the tests above and the fixtures they use."""
    return await aiohttp_client(create_app(replace(config, storage="s3", s3=s3_settings)))
