// The AWS SDK as an independent client of the test RGW, for checks our own client could get wrong the same way.
import { S3Client } from "@aws-sdk/client-s3"
import { s3 } from "./servers.js"

export const rgwSdk = (): S3Client =>
  new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // RGW 16 does not know the CRC32 trailers newer SDKs send by default.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED"
  })
