"""What Garmin's own documents say, quoted, for the fake Garmin and the test that holds it to them.

Sources (text copies of Garmin's partner PDFs found in public repositories; the originals are
behind developerportal.garmin.com):

- ACT = "Garmin Developer Program – Activity API", Version 1.2.3 (revision 09/09/2025,
  "PING notification updated for OAuth2 clients"), marked CONFIDENTIAL.
- START = "Garmin Connect Developer Program – Start Guide", Version 1.1.0 (06/30/2025).
- PKCE = Garmin "OAuth2.0 PKCE Specification" (OAuth2PKCE_1.pdf): NOT read directly; its token
  response example is quoted identically by several independent public repositories, so it is
  treated as highly likely, not confirmed.

Every example below is copied from those documents (curly quotes straightened, identifiers kept).
"""

from __future__ import annotations

# ACT §4.2 "Ping Notification Content", example.
ACT_PING = {"activities": [{
    "userId": "4aacafe82427c251df9c9592d0c06768",
    "callbackURL": "https://apis.garmin.com/wellness-api/rest/activities?uploadStartTimeInSeconds"
                   "=1444937651&uploadEndTimeInSeconds=1444937902&token=XXXXXXXXX",
}]}

# ACT §5.1 "Push Notification Content", example.
ACT_PUSH = {"activities": [{
    "userId": "4aacafe82427c251df9c9592d0c06768", "summaryId": "EXAMPLE_12345",
    "activityType": "RUNNING", "startTimeInSeconds": 1452470400, "startTimeOffsetInSeconds": 0,
    "durationInSeconds": 11580, "averageSpeedInMetersPerSecond": 2.888999938964844,
    "distanceInMeters": 519818.125, "activeKilocalories": 448, "deviceName": "Forerunner 910XT",
    "averagePaceInMinutesPerKilometer": 0.5975272352046997,
}]}

# ACT §7.1 "Activity Summaries": the property table ("Each activity summary may contain the
# following parameters"), with the documented types. userId comes from §5.1.
ACT_SUMMARY_FIELDS = {
    "userId": str, "summaryId": str, "activityId": (str, int), "startTimeInSeconds": int,
    "startTimeOffsetInSeconds": int, "activityName": str, "activityType": str,
    "durationInSeconds": int, "pushes": int, "averageBikeCadenceInRoundsPerMinute": float,
    "averageHeartRateInBeatsPerMinute": int, "averageRunCadenceInStepsPerMinute": float,
    "averagePushCadenceInPushesPerMinute": float, "averageSpeedInMetersPerSecond": float,
    "averageSwimCadenceInStrokesPerMinute": float, "averagePaceInMinutesPerKilometer": float,
    "activeKilocalories": int, "deviceName": str, "distanceInMeters": float,
    "maxBikeCadenceInRoundsPerMinute": float, "maxHeartRateInBeatsPerMinute": float,
    "maxPaceInMinutesPerKilometer": float, "maxRunCadenceInStepsPerMinute": float,
    "maxPushCadenceInPushesPerMinute": float, "maxSpeedInMetersPerSecond": float,
    "numberOfActiveLengths": int, "startingLatitudeInDegree": float,
    "startingLongitudeInDegree": float, "steps": int, "totalElevationGainInMeters": float,
    "totalElevationLossInMeters": float, "isParent": bool, "parentSummaryId": str,
    "manual": bool, "isWebUpload": bool,
}

# ACT §7.4 "Activity Files": "The Ping's body is JSON formatted as follows" (first item), plus
# the optional activityDescription of the second item.
ACT_ACTIVITY_FILES = {"activityFiles": [{
    "userId": "4aacafe82427c251df9c9592d0c06768", "summaryId": "10010727180-file",
    "fileType": "FIT",
    "callbackURL": "https://apis.garmin.com/wellness-api/rest/activityFile?id=XXX&token=YYY",
    "activityType": "RUNNING", "deviceName": "Garmin Fenix 8",
    "startTimeInSeconds": 1617717902, "activityId": 5001904988,
    "activityName": "Olathe WALKING", "manual": False,
}]}
ACT_ACTIVITY_FILES_OPTIONAL = {"activityDescription": str}

# START §2.6.2 "Deregistration endpoint", example.
START_DEREGISTRATION = {"deregistrations": [{"userId": "4aacafe82427c251df9c9592d0c06768"}]}

# START §2.6.3 "User Permission endpoint", example notification and GET response.
START_PERMISSIONS_CHANGE = {"userPermissionsChange": [{
    "userId": "31be9cac-5bf9-406b-9fa8-89879bcaceac", "summaryId": "x120d383-60256e84",
    "permissions": ["ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT", "COURSE_IMPORT",
                    "MCT_EXPORT"],
    "changeTimeInSeconds": 1613065860,
}]}
START_PERMISSIONS_RESPONSE = ["ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT",
                              "COURSE_IMPORT", "MCT_EXPORT"]

# START §3.2 "Get User ID": Response.
START_USER_ID = {"userId": "d3315b1072421d0dd7c8f6b8e1de4df8"}

# PKCE token response example (see the module docstring for how sure this is).
PKCE_TOKEN_RESPONSE = {
    "access_token": "VTkc5JilK0dd8w_s0FJGabMqSFyjSXyNHIb0lUgFJyIr2YZxhey-KMzDzBCI2LJc6yC5NGbC",
    "expires_in": 86400, "token_type": "bearer", "refresh_token": "xUEA805jTCcGd4b7rs-SkOJP==",
    "scope": "PARTNER_WRITE PARTNER_READ CONNECT_READ CONNECT_WRITE",
    "jti": "f9eb2316-9b9d-495a-8732-e16c4b5bcafd", "refresh_token_expires_in": 7775998,
}

# ACT Appendix B "Error Responses": the error body form, the status table, and the 409 example.
ACT_ERROR_BODY = {"errorMessage": "The error message details"}
ACT_ERROR_STATUSES = {
    400: "One of the input parameters is invalid.",
    401: "The authorization for the request failed.",
    403: "The User Access Token in the request header is unknown. This could be the result of a "
         "malformed token or a token that has been invalidated by the user removing their "
         "consent from the Garmin Connect account page.",
    409: "Backfill Duplicate request. Request for this timeframe was already made.",
    412: "The User Access Token is valid, but the user has not given his permission for the "
         "summary-type on the Garmin Connect account page. Other summary-types might still work "
         "since the user didn't remove his consent in general",
    500: "Any server error that does not fall in to one of the above categories.",
}
ACT_409_EXAMPLE = {"errorMessage": "[6efb2a74-fa98-4d1c-aeb9-238b223fb304]duplicate backfill "
                                   "processed at 2021-07-01T07:05:57Z [2021-04-02T07:05:57Z to "
                                   "2021-07-01T07:05:57Z]"}

# Prose the fake's behaviour rests on (quoted for the record; asserted through behaviour).
QUOTES = {
    "backfill_409": "ACT §8: Duplicate Backfill requests are rejected with HTTP 409 status "
                    "(duplicate requests – requests for already requested time period)",
    "backfill_30d": "ACT §8: The maximum date range (inclusive) for a single backfill request is "
                    "30 days, but it is permissible to send multiple requests representing other "
                    "30-day periods to retrieve additional data.",
    "backfill_202": "ACT §8: a successful request returns HTTP status code 202 (accepted) with no "
                    "response body.",
    "file_410": "ACT §7.4: Callback url will be available for download for 24 hours only and "
                "should be downloaded once. Duplicate downloads will be rejected with HTTP 410.",
    "ping_retry": "ACT §4.1: The Ping Service will continue to re-attempt failed pings, "
                  "successively waiting longer between each attempt",
    "sharing_off": "START §2.6.3: the user's access token will still be valid, but no data will "
                   "be shared from or to the user's account.",
    "deregister": "START §3.1: a final User Deregistration notification will be sent ... all "
                  "notifications for that user will immediately stop and any attempts to request "
                  "data with that user ID will be rejected as unauthorized.",
    "user_id": "START §3.2: if a user deletes their association through Garmin Connect and then, "
               "later, completes the OAuth process ... the second token will still have the "
               "same API User ID as the first token.",
}
