"""Hand-written parts of the reply_style task, composed by build.py (see the datasheet).

Every message frame and reply sentence here was written for shipwise. Slots in braces are
filled from the facts of one example: {name} {order} {item} {date} {amount} {address} {size}
{colour} {part} {days}; {order_phrase} is "order KL-123456" when the customer gave a number
and "your order" when not ({Order_phrase} starts a sentence).
"""

from __future__ import annotations

NAMES = [
    "Priya", "Tom", "Aisha", "Marek", "Sofia", "Daniel", "Mei", "Oluwaseun", "Hannah", "Luis",
    "Grace", "Kenji", "Fatima", "Owen", "Chloe", "Ravi", "Ingrid", "Mateo", "Zara", "Patrick",
    "Leila", "Samuel", "Noor", "Ethan", "Beatriz", "Callum", "Yusuf", "Elena", "Jonah", "Amara",
    "Felix", "Harriet", "Dev", "Lucia", "Arjun", "Maeve", "Tobias", "Nadia", "Gareth", "Sunita",
    "Ivan", "Rosa", "Kwame", "Freya", "Omar", "Bethany", "Hugo", "Anika", "Declan", "Mira",
]
ITEMS = {
    "home": [
        "Aldercrest 2L kettle", "Tamsin linen duvet cover", "Fenwick table lamp",
        "Brackley mug set", "Loxley cast-iron casserole", "Wren glass storage jar",
        "Harlow bath towel", "Oakhurst cutting board",
    ],
    "clothing": [
        "Skerry rain jacket", "Holloway wool jumper", "Tarn merino base layer",
        "Linnet summer dress", "Corrie fleece gilet", "Ashby cotton shirt",
    ],
    "furniture": [
        "Millbrook bookshelf", "Garnet desk chair", "Thorne bedside table", "Elsdon bar stool",
        "Pennard coat stand",
    ],
    "outdoor": [
        "Cairn 2-person tent", "Drover sleeping bag", "Halyard camping stove",
        "Brisk trail backpack", "Moorfoot folding chair",
    ],
    "electronics": [
        "Nimbus heater", "Quill desk fan", "Cinder Bluetooth speaker", "Velo bike light",
        "Lark alarm clock", "Tessel electric toothbrush",
    ],
}
# Items that come in several pieces, and the pieces a customer may find missing.
PARTS = {
    "Millbrook bookshelf": ["the bag of screws", "one of the shelves", "the back panel"],
    "Garnet desk chair": ["the gas lift", "two of the castor wheels", "the Allen key"],
    "Thorne bedside table": ["the drawer handles", "the bag of screws"],
    "Pennard coat stand": ["the top hooks", "the fixing bolts"],
    "Cairn 2-person tent": ["the tent poles", "the pegs", "the rain fly"],
    "Halyard camping stove": ["the gas adaptor", "the pan support"],
    "Aldercrest 2L kettle": ["the power base", "the limescale filter"],
    "Tamsin linen duvet cover": ["the second pillowcase"],
    "Cinder Bluetooth speaker": ["the charging cable"],
    "Quill desk fan": ["the base plate", "the wall plug"],
    "Velo bike light": ["the mounting bracket", "the charging cable"],
}
SIZES = ["XS", "S", "M", "L", "XL", "XXL", "8", "10", "12", "14", "16"]
COLOURS = ["navy", "olive", "charcoal", "rust", "sand", "forest green", "slate blue", "cream"]
STREETS = [
    "14 Fern Road", "3 Mill Lane", "221 Harbour Street", "8 Orchard Close", "47 Station Road",
    "12 Elm Avenue", "5 Kestrel Way", "90 Cedar Drive", "19 Quarry Hill", "2 Beacon Terrace",
]
TOWNS = ["Leeds", "Bristol", "Toronto", "Dublin", "Portland", "Glasgow", "Ottawa", "Norwich"]
DATES = [
    "March 3", "April 12", "May 20", "June 7", "July 15", "August 2", "September 9",
    "October 18", "November 4", "December 11", "January 23", "February 6",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
CURRENCY = ["$", "£", "€"]

# A message may open with one of these, and, when it is signed, close with one of the
# sign-offs (the name the reply greets).
OPENERS = ["", "", "", "Hi,\n", "Hello,\n\n", "Hi there,\n\n", "Hello Kestrel Lane,\n\n", "Good morning. "]
SIGNATURES = [
    "\n\nThanks, {name}", "\n\n{name}", " - {name}", "\n\nCheers,\n{name}", "\n\nBest, {name}",
    "\n\nRegards,\n{name}", " Thanks. {name}", "\n\nMany thanks\n{name}",
]

# Each scenario: what the customer says (frames) and the parts of a reply in the house voice.
# `ack` names the problem in the customer's terms, `act` says what we did, `next` the next step.
# `kind` picks the product family; frames with {order} make the reply cite the number.
SCENARIOS: dict[str, dict[str, object]] = {
    "tracking_stalled": {
        "kind": "any",
        "frames": [
            "where is my order {order}? tracking hasnt moved since {weekday}",
            "I ordered the {item} a week ago and the tracking page still says 'label created'. Is it actually coming?",
            "Tracking for {order} has been stuck on 'in transit' for {days} days. Can you check what's going on?",
            "hey, any news on my {item}? the courier link shows nothing new since {weekday}",
            "My parcel ({order}) seems to have stopped moving. Last update was at the sorting depot on {weekday}. Should I be worried?",
            "Is there a problem with my order? It's the {item} and the tracking hasn't changed in ages.",
            "Could you tell me where {order} is? The courier site just says it's on its way, but it's said that for {days} days now.",
        ],
        "ack": [
            "Thanks for checking in about the {item_or_parcel}.",
            "We can see why a tracking page that stops moving is worrying.",
            "Thanks for letting us know the tracking on {order_phrase} has gone quiet.",
        ],
        "act": [
            "We've asked the courier to trace the parcel, and they have confirmed it is at their local depot and due out with a driver within two working days.",
            "We've looked into {order_phrase}. The parcel was scanned at the courier's hub but the next scan was missed, so the page stopped updating. It is still on its way to you.",
            "We've spoken to the courier about {order_phrase}. They found the parcel and have put it back on a van, so you should see a new update soon.",
        ],
        "next": [
            "If it hasn't reached you by the end of the week, reply to this email and we'll send a replacement straight away.",
            "You don't need to do anything for now. We'll email you again as soon as the courier confirms delivery.",
            "Keep an eye on the same tracking link. If nothing changes in three working days, just reply here and we'll step in.",
        ],
    },
    "late_order": {
        "kind": "any",
        "frames": [
            "My order was meant to arrive by {date}. It's now well past that and still no {item}. Order {order}.",
            "The confirmation email promised delivery on {date}. Nothing has come. What is going on with {order}?",
            "This is getting ridiculous. {order} was due on {date} and I'm still waiting for my {item}.",
            "Hello, the {item} I ordered was supposed to be here by {date}. Can you tell me when it will actually arrive?",
            "still no sign of {order}, you said {date}. that was days ago",
            "I paid for delivery by {date} and the {item} hasn't turned up. I'd like to know what happened.",
        ],
        "ack": [
            "You were promised your {item_or_parcel} by {date}, and we didn't keep that promise.",
            "Thanks for your patience with {order_phrase}, which should have reached you by {date}.",
            "We're sorry {order_phrase} missed the {date} date we gave you.",
        ],
        "act": [
            "The parcel was held at a regional depot after a van broke down. We've asked the courier to move it to the front of the queue, and we've refunded your delivery charge.",
            "We've checked with the courier and the parcel was sent to the wrong depot. It is now on its way back to the right one, and we've refunded your delivery charge for the wait.",
            "We've traced the parcel to a delayed trailer. It is moving again, and as the date we gave you has passed, we've refunded what you paid for delivery.",
        ],
        "next": [
            "You'll get a new delivery date by email within a day. If it doesn't suit you, reply here and we'll cancel the order for a full refund.",
            "If the parcel isn't with you within three working days, reply to this email and we'll send a replacement by express delivery at no cost.",
            "There's nothing you need to do. We'll keep watching it and email you the moment it's out for delivery.",
        ],
    },
    "delivered_missing": {
        "kind": "any",
        "frames": [
            "tracking for {order} says delivered yesterday but there's nothing here. checked with the neighbours too",
            "The courier marked my {item} as delivered on {weekday}, but it never arrived. I was home all day.",
            "Hi, {order} shows as delivered but I don't have it. Not in the porch, not with neighbours. What now?",
            "My {item} says it was handed over at 2:40pm but no one came to the door. Can you help?",
            "Your website says my order was delivered. It was not. I have looked everywhere.",
            "Apparently my parcel was delivered {weekday} afternoon. I have no parcel. {order}",
        ],
        "ack": [
            "A parcel marked as delivered that isn't with you is frustrating, and thanks for telling us straight away.",
            "Thanks for telling us {order_phrase} shows as delivered when nothing reached you.",
            "We're sorry your {item_or_parcel} shows as delivered but never reached you.",
        ],
        "act": [
            "We've opened a missing parcel claim with the courier and asked for the driver's photo and GPS record of the drop.",
            "We've asked the courier for proof of delivery, including where the driver left it, and we've flagged {order_phrase} so it isn't closed while we look.",
            "We've started a search with the courier. They check the driver's route and any photo taken at the door.",
        ],
        "next": [
            "If the courier can't show it reached you within two working days, we'll send a replacement or a full refund, whichever you prefer.",
            "We'll email you their answer within two working days. If the parcel turns up before then, just reply and let us know.",
            "Please reply with a good time to reach you if the driver needs to ask a question. Either way, you won't be left out of pocket.",
        ],
    },
    "damaged": {
        "kind": "hard",
        "frames": [
            "The {item} arrived today with a big crack down the side. Order {order}. Really disappointed.",
            "my {item} came damaged. box was crushed and it's dented",
            "Hi, I've just unpacked the {item} from {order} and it's broken. Can you sort this out?",
            "Opened the box and the {item} is scratched all over and one corner is smashed. Not acceptable for the price.",
            "Order {order} arrived but the {item} inside is damaged. I've taken photos if you need them.",
            "I am very unhappy. The {item} I waited two weeks for arrived in pieces.",
            "Just a heads up that the {item} was damaged in the post. What do you need from me?",
        ],
        "ack": [
            "We're sorry your {item} arrived damaged. That isn't the welcome we want for anything you buy from us.",
            "Thanks for telling us about the damaged {item}, and sorry it reached you in that state.",
            "A broken {item} after waiting for it is a real letdown, and we're sorry.",
        ],
        "act": [
            "We've sent a replacement {item} today on {order_phrase}, at no cost to you.",
            "We've arranged a free replacement, which leaves our warehouse today. The courier will collect the damaged one when they drop off the new one.",
            "We've logged the damage against {order_phrase} and set aside a new {item} for you.",
        ],
        "next": [
            "You don't need to send it back. Please recycle or keep the damaged one, whichever is easier.",
            "If you'd rather have a refund than a replacement, reply to this email and we'll switch it over.",
            "Please reply with one photo of the damage so we can tell the courier. The replacement won't wait for it.",
        ],
    },
    "wrong_item": {
        "kind": "clothing",
        "frames": [
            "I ordered the {item} in {colour} and got a completely different colour. Order {order}.",
            "Wrong size sent. I ordered the {item} in {size} and the label says something else. {order}",
            "Hi, the {item} you sent is the wrong colour. I chose {colour}. Can you swap it?",
            "you sent me the wrong thing, I ordered a {item} size {size} and got a different size",
            "The packing slip says {colour} {item} but what's in the bag is not {colour}. Please advise.",
            "This is the second time you've sent the wrong size. I need the {item} in {size}, not what arrived.",
        ],
        "ack": [
            "You ordered the {item} in {colour_or_size} and we sent the wrong one. That mistake is ours.",
            "Thanks for letting us know we sent the wrong {item}, and sorry for the mix-up.",
            "We're sorry the {item} that arrived isn't the {colour_or_size} you chose.",
        ],
        "act": [
            "We've sent the {item} in {colour_or_size} today by express delivery on {order_phrase}, free of charge.",
            "The right {item}, in {colour_or_size}, is packed and leaves our warehouse today. We've also emailed you a free returns label.",
            "We've checked the stock and set aside a {item} in {colour_or_size} for you. It ships today by express delivery.",
        ],
        "next": [
            "Please send the wrong one back with the returns label we've emailed you, within 30 days and in any bag or box.",
            "When the new one arrives, hand the wrong one to the driver. They'll have a label for it.",
            "There's no rush to return the wrong one. Use the prepaid label in your email whenever it suits you.",
        ],
    },
    "missing_part": {
        "kind": "partful",
        "frames": [
            "The {item} arrived without {part}. Can't use it like this. {order}",
            "Hello, I've started putting together the {item} and there's no sign of {part}. What should I do?",
            "There was no sign of {part} in the box with my {item}. Order {order}.",
            "missing bits!! {part} not included with the {item}",
            "Should {part} come with the {item}? Can't find it in the box and the manual lists it.",
            "We opened the {item} this weekend but we can't find {part} anywhere, so it's sitting half-built in the hallway.",
        ],
        "ack": [
            "Thanks for letting us know your {item} arrived without {part}.",
            "We're sorry your {item} arrived without {part}. You should have everything you need in the box.",
            "A {item} you can't finish because of a missing part is annoying, and we're sorry.",
        ],
        "act": [
            "We've posted {part} to you today by first class on {order_phrase}, at no cost.",
            "We've asked our warehouse to send {part} straight away by tracked post, which takes two to three working days.",
            "A replacement for {part} is on its way to you today, tracked, and we've added a note to {order_phrase}.",
        ],
        "next": [
            "If it hasn't arrived by the end of next week, reply here and we'll send a whole new {item} instead.",
            "You'll get a tracking link by email this evening. Nothing else is needed from you.",
            "If anything else turns out to be missing once you carry on, reply to this email and we'll add it to the same parcel.",
        ],
    },
    "return_changed_mind": {
        "kind": "any",
        "frames": [
            "I'd like to return the {item}. It's fine, I just don't need it any more. Order {order}.",
            "how do I send back the {item}? changed my mind",
            "Hi, the {item} doesn't really suit our place after all. Can I return it? It's unused.",
            "Can I get a returns label for {order}? I want to send back the {item}.",
            "I bought the {item} as a gift but they already have one. What's the easiest way to return it?",
            "The {item} is lovely but not what I pictured. Is it too late to return it? Bought it {days} days ago.",
        ],
        "ack": [
            "Thanks for letting us know the {item} isn't right for you.",
            "Of course you can send the {item} back, and thanks for asking.",
            "It's no problem that the {item} didn't work out.",
        ],
        "act": [
            "We've emailed you a free returns label for {order_phrase}. It works at any drop-off point shown on the label.",
            "We've set up a return for the {item} and emailed a prepaid label to the address on your account.",
            "We've opened a return on {order_phrase} and added a free returns label to your account page.",
        ],
        "next": [
            "Once the courier scans the parcel, we'll refund you to your original payment method within five working days.",
            "Please pack it in any box, stick on the label and drop it off within 30 days. Your refund follows when it reaches us.",
            "Drop it off whenever suits you in the next 30 days. We'll email you as soon as the refund is on its way.",
        ],
    },
    "exchange_size": {
        "kind": "clothing",
        "frames": [
            "The {item} is too small. Can I swap it for a {size}? Order {order}.",
            "Hi, can I exchange my {item} for size {size} please? The one I ordered doesn't fit.",
            "{item} fits badly, need it one size up ({size}). How do exchanges work?",
            "I ordered the wrong size of the {item} by mistake. Could I get it in {size} instead? {order}",
            "Is it possible to swap the {item} for the {size}? It's unworn with tags on.",
            "my {item} is too big, can you send a {size} and I'll send this one back",
        ],
        "ack": [
            "Thanks for letting us know the {item} doesn't fit. A swap to size {size} is easy to set up.",
            "We're glad to swap your {item} for a size {size}.",
            "It happens to all of us with sizing, and we're happy to exchange the {item} for a {size}.",
        ],
        "act": [
            "We've reserved a {item} in size {size} and sent it today on {order_phrase}, with a free returns label in the parcel.",
            "We've set up the exchange on {order_phrase}. The size {size} ships today, before we receive the first one, so you aren't left waiting.",
            "The {item} in size {size} is on hold for you, and we've emailed a free label for sending the first one back.",
        ],
        "next": [
            "Please send the first one back within 30 days using the label. There's nothing to pay.",
            "When the new size arrives, try it on. If it fits, pop the first one in the post with the label.",
            "If the {size} doesn't fit either, reply to this email and we'll sort out another swap or a refund.",
        ],
    },
    "refund_waiting": {
        "kind": "any",
        "frames": [
            "I returned the {item} {days} days ago and still haven't had my refund. Order {order}.",
            "Where is my refund? You got the {item} back ages ago.",
            "Hi, could you check the refund for {order}? The courier says you received my return {days} days ago.",
            "still waiting on my money for the {item} I sent back. it's been {days} days",
            "My return was delivered to you on {date} but the refund hasn't reached my card. Can you look into it?",
            "I'm starting to think I'm never getting my refund for the {item}. It's been {days} days. Please sort it.",
        ],
        "ack": [
            "Thanks for your patience while waiting for the refund on your {item}.",
            "We're sorry the refund for {order_phrase} is taking this long.",
            "Waiting {days} days for your money back is too long, and we're sorry.",
        ],
        "act": [
            "We've checked and your return reached us, but the refund hadn't been released. We've released it today.",
            "Your refund on {order_phrase} was stuck in a check at our warehouse. We've cleared it and sent the money back to your original payment method today.",
            "We've pushed the refund for your {item} through today, and we can see it has left our account.",
        ],
        "next": [
            "Banks usually take three to five working days to show it. If it isn't there by then, reply here and we'll chase the bank with you.",
            "You'll get a confirmation email within the hour. Your bank should show the money within five working days.",
            "Please allow up to five working days for it to appear. If it doesn't, send us a reply and we'll look again.",
        ],
    },
    "double_charge": {
        "kind": "any",
        "frames": [
            "I've been charged twice for {order}. Two payments of {amount} on my card.",
            "why have you taken {amount} from my account twice?? i only placed one order",
            "Hello, my bank statement shows two charges of {amount} for the {item}. Please refund one of them.",
            "Double charge on my card for the {item}, {amount} each. Order {order}. Fix this please.",
            "I noticed two identical payments of {amount} yesterday. I only bought one {item}.",
            "Can someone explain why I was billed {amount} twice? I'm not happy about this.",
        ],
        "ack": [
            "Thanks for spotting the two charges of {amount} and telling us.",
            "Being charged twice is worrying, and we're sorry it happened on {order_phrase}.",
            "We're sorry you were charged {amount} twice for one order.",
        ],
        "act": [
            "We've checked {order_phrase} and the second payment was a duplicate. We've refunded {amount} to your card today.",
            "We can see both payments of {amount}. The second one has been refunded today, and we've marked your order as paid once.",
            "A payment glitch took {amount} twice. We've sent the second {amount} back to your card today.",
        ],
        "next": [
            "It should show on your statement within three to five working days. You'll get a confirmation email shortly.",
            "If your bank shows the second charge as pending, it may simply drop off in a few days. Either way, there's nothing for you to do.",
            "Please reply if the refund isn't on your statement within five working days, and we'll follow it up with our bank.",
        ],
    },
    "promo_missing": {
        "kind": "any",
        "frames": [
            "I used the code SPRING15 on {order} but I was charged the full {amount}.",
            "my discount code didn't come off. paid {amount} for the {item}",
            "Hi, the 10% welcome code was accepted at checkout, but my card was charged {amount}, which is the full price.",
            "The promo code showed as applied on the basket page but the receipt says {amount}. Can you correct it?",
            "Was my code applied to {order}? The total of {amount} looks like full price to me.",
            "I'm a bit annoyed. The free delivery code worked at checkout and then I was still charged for delivery. Total {amount}.",
        ],
        "ack": [
            "Thanks for checking your receipt for {order_phrase} so closely.",
            "You're right that your code should have come off the {amount} total, and thanks for pointing it out.",
            "We're sorry your discount didn't come off at checkout.",
        ],
        "act": [
            "We've checked and the code was valid, so we've refunded the difference to your card today.",
            "We've applied the code to {order_phrase} by hand and refunded the difference from the {amount} you paid.",
            "The code was accepted but didn't reach the payment step. We've worked out the discount and sent it back to your card today.",
        ],
        "next": [
            "You'll get an updated receipt by email, and the refund should show within five working days.",
            "There's nothing more you need to do. Your updated receipt is on your account page now.",
            "If the difference isn't on your statement within five working days, reply to this email and we'll check again.",
        ],
    },
    "cancel_order": {
        "kind": "any",
        "frames": [
            "Please cancel {order}. I ordered the {item} by mistake.",
            "can you cancel my order for the {item}? found it cheaper elsewhere",
            "Hi, I need to cancel {order} before it ships. We're moving house and won't be at the address.",
            "Cancel my order please. The {item}. I don't want it any more.",
            "I placed an order an hour ago ({order}) and I'd like to cancel it. Is that still possible?",
            "My partner already bought a {item}, so we don't need this one. Please cancel it.",
        ],
        "ack": [
            "Thanks for letting us know quickly about {order_phrase}.",
            "Of course, and thanks for getting in touch before the {item} shipped.",
            "We've got your request to cancel the {item}.",
        ],
        "act": [
            "We've cancelled {order_phrase} before it left our warehouse, and the full amount is on its way back to your card.",
            "{Order_phrase} has been cancelled and won't be sent. We've started a full refund to your original payment method.",
            "We caught it in time. The {item} won't ship, and we've refunded the whole order.",
        ],
        "next": [
            "The refund usually shows within three to five working days. You'll also get a cancellation email for your records.",
            "You don't need to do anything else. Your bank should show the refund within five working days.",
            "If you change your mind, you're welcome to order again at any time, and the price will be the same this week.",
        ],
    },
    "change_address": {
        "kind": "any",
        "frames": [
            "Can you change the delivery address on {order} to {address}, {town}? I've just moved.",
            "I put the wrong address on my order for the {item}. It should be {address}, {town}.",
            "Hi, please send {order} to my work address instead: {address}, {town}.",
            "wrong address on my order!! should be {address} {town} not the old one",
            "Is it too late to change where my {item} is going? New address is {address}, {town}.",
            "I'd like the parcel delivered to my mum's house at {address}, {town}, as I'll be away. {order}",
        ],
        "ack": [
            "Thanks for letting us know the new address for {order_phrase}.",
            "Sure, we can send your {item_or_parcel} to {address} instead.",
            "Thanks for catching the address before the parcel went out.",
        ],
        "act": [
            "We've updated {order_phrase} to deliver to {address}, {town}, and the courier has the new details.",
            "The parcel hadn't left our warehouse yet, so we've changed the label to {address}, {town}.",
            "We've asked the courier to redirect {order_phrase} to {address}, {town}, and they have confirmed the change.",
        ],
        "next": [
            "Your tracking link stays the same. You'll see the new address on it within a few hours.",
            "There's nothing else you need to do. Delivery timing stays as it was.",
            "Please reply to this email if the tracking still shows the old address tomorrow, and we'll call the courier.",
        ],
    },
    "login_reset": {
        "kind": "none",
        "frames": [
            "I can't log in. The password reset email never arrives.",
            "Hi, my account says it's locked after too many attempts. How do I get back in?",
            "Your site keeps telling me my password is wrong even after I reset it. Help please.",
            "Locked out of my account again. This is the third time this month.",
            "Since {weekday} the reset link just takes me to an error page. I need to check an order.",
            "The password reset link says it has expired every time, even when I click it straight away.",
            "can't get into my account, tried resetting {days} times now, nothing works",
        ],
        "ack": [
            "Being locked out of your account is frustrating, and thanks for telling us.",
            "Thanks for getting in touch about signing in.",
            "We're sorry you're having trouble getting into your account.",
        ],
        "act": [
            "We've reset the lock on your account and sent a fresh sign-in link to your email. It works for one hour.",
            "We've checked your account and it's safe. We've unlocked it and sent a new password reset link.",
            "We found a fault that stopped reset links working on your account. We've fixed it and sent you a new link.",
        ],
        "next": [
            "If the email doesn't arrive within ten minutes, please check your spam folder, then reply here and we'll try another way.",
            "Once you're in, you can choose a new password under Account, then Security.",
            "If it locks again, reply to this email and we'll look at it together on a call.",
        ],
    },
    "login_code": {
        "kind": "none",
        "frames": [
            "the two-factor code isn't coming through to my phone so I'm locked out",
            "I changed phones and now I can't get the login code. What do I do?",
            "I have tried to sign in {days} times today and the code expires before it arrives.",
            "My sign-in codes still go to my old mobile number, which I don't have any more.",
            "Since {weekday} the text with my login code just never arrives. Is something broken?",
            "New phone, same account. How do I get the security codes on the new one?",
        ],
        "ack": [
            "Not getting your sign-in code is frustrating, and thanks for telling us.",
            "Thanks for getting in touch about your login codes.",
            "We're sorry the login codes haven't been reaching you.",
        ],
        "act": [
            "We've cleared the old login codes and switched your account to send codes by email while you sort out your phone.",
            "We've checked your account and it's safe. We've turned off codes by text for now, so you can sign in with your password and an email code.",
            "We've reset two-step sign-in on your account, so the next code will go to your email.",
        ],
        "next": [
            "Once you're in, you can add your current phone under Account, then Security.",
            "If the email code doesn't arrive within ten minutes, please check your spam folder, then reply here.",
            "If you'd like codes by text again later, you can switch them back on under Account, then Security.",
        ],
    },
    "delete_account": {
        "kind": "none",
        "frames": [
            "Please delete my account and all my data.",
            "I want to close my Kestrel Lane account. I don't shop with you any more.",
            "Hi, how do I delete my account? I can't find the option anywhere on the site.",
            "Remove my account. And stop sending me emails.",
            "Could you close my account please? I've made a new one with a different email.",
            "I'd like my account and order history deleted under data protection rules, thank you.",
            "Since my last order on {date} I've decided to stop shopping online. Please remove my account.",
            "Delete everything you hold about me. Account, addresses, the lot.",
            "I opened an account by accident on {weekday} while checking out. Could you remove it?",
            "hi can u close my account, been {days} days since i asked in the chat and nothing happened",
        ],
        "ack": [
            "Thanks for letting us know you'd like your account closed.",
            "We're sorry to see you go, and thanks for telling us.",
            "Thanks for getting in touch about closing your account.",
        ],
        "act": [
            "We've started deleting your account and the personal data linked to it. Marketing emails have stopped today.",
            "We've closed your account and asked our systems to erase your details, apart from the order records the law says we must keep.",
            "Your account is now closed, and we've taken you off every mailing list.",
        ],
        "next": [
            "You'll get one last email within 30 days to confirm everything has been removed.",
            "If you ever want to shop with us again, you can make a new account at any time.",
            "If this was a mistake, reply within 14 days and we can still restore the account.",
        ],
    },
    "praise": {
        "kind": "any",
        "frames": [
            "Just wanted to say the {item} is brilliant. Arrived quickly and well packed.",
            "Really happy with my {item}. Thanks to whoever packed it so carefully.",
            "the {item} is great, best thing ive bought this year",
            "Hello! No problem to report, I just love the {item}. Great quality for the price.",
            "Your delivery driver was so kind today, and the {item} is perfect. Thank you.",
            "Second time ordering from you and again everything was spot on. The {item} is lovely.",
        ],
        "ack": [
            "Thank you for taking the time to tell us about your {item}.",
            "It's lovely to hear the {item} has found a good home with you.",
            "Thanks for such a kind message about your {item}.",
        ],
        "act": [
            "We've passed your note on to the warehouse team, who pack every order by hand.",
            "We've shared your message with the team, and it made their morning.",
            "We've added your words to the board in our warehouse, where the packing team can see them.",
        ],
        "next": [
            "There's nothing you need to do. If you ever need anything, just reply to this email.",
            "If you'd like to leave a review on the {item} page, it helps other customers choose.",
            "Enjoy the {item}, and we hope to see you again soon.",
        ],
    },
    "complaint_packaging": {
        "kind": "any",
        "frames": [
            "Why did a small {item} come in a box big enough for a microwave? So much waste.",
            "The amount of plastic wrapped round my {item} was shocking. Please do better.",
            "I love the {item} but the packaging was excessive. Three layers of bubble wrap for one item.",
            "huge box, tiny {item}, loads of air pillows. not very green is it",
            "Could you use less packaging? My order {order} came with more plastic than product.",
            "I was disappointed to find the {item} wrapped in plastic when your website talks about sustainability.",
        ],
        "ack": [
            "Thanks for telling us about the packaging on your {item}. You're right that it was more than it needed.",
            "We hear you on the packaging, and thanks for raising it.",
            "Thanks for your honest note about how your {item} was packed.",
        ],
        "act": [
            "We've shared your comments with our warehouse team, who are moving to paper fill and smaller boxes this season.",
            "We've passed this on to our packing team so they can pick a box that fits items like the {item}.",
            "We've logged your feedback with the team that chooses our packaging, as they review it every month.",
        ],
        "next": [
            "Most of the box and paper can go in household recycling. There's nothing else you need to do.",
            "If you'd like, you can add a note at checkout next time asking for minimal packaging, and the packers will see it.",
            "Thanks again for helping us improve. We'll share what changes on our website this year.",
        ],
    },
    "invoice_request": {
        "kind": "any",
        "frames": [
            "Could you send me a VAT invoice for {order}? I need it for my company's expenses.",
            "I need a receipt for the {item} for my accounts. Can you email one?",
            "Hi, could you email me an invoice for {order}? I can't find one in my account.",
            "please send invoice for order {order}, thanks",
            "My employer needs an itemised receipt for the {item} before they'll pay me back. Can you help?",
            "Where can I download an invoice? I bought a {item} last month.",
        ],
        "ack": [
            "Thanks for asking for a copy of your invoice.",
            "Of course, we can send an invoice for {order_phrase}.",
            "Happy to help with the paperwork for your {item}.",
        ],
        "act": [
            "We've emailed a full VAT invoice for {order_phrase} to the address on your account.",
            "We've attached an itemised invoice for the {item} to this email, showing the price, tax and delivery.",
            "We've made a new invoice for {order_phrase} and sent it to your email as a PDF.",
        ],
        "next": [
            "You can also download invoices at any time from Account, then Orders.",
            "If the business name or address needs changing, reply with the right details and we'll send a new one.",
            "If your finance team needs anything else on it, just reply to this email.",
        ],
    },
    "unsubscribe": {
        "kind": "none",
        "frames": [
            "Please stop sending me marketing emails. I get three a day.",
            "How do I unsubscribe? The link at the bottom of your emails doesn't work.",
            "Take me off your mailing list please.",
            "I keep getting your newsletters even though I ticked 'no thanks'. Stop it.",
            "Hi, I still want order updates but not the sales emails. Is that possible?",
            "Too many emails from you. Unsubscribe me.",
            "Since {date} I've had an email from you every single day. Please make it stop.",
            "I unsubscribed {days} days ago and the emails keep coming. What's going on?",
            "Could you stop the sales emails? I only want delivery updates.",
            "Hello, my inbox is full of your offers. Please remove this address from every list.",
            "Every {weekday} another newsletter. I never signed up for these.",
        ],
        "ack": [
            "Thanks for telling us our emails have been too much.",
            "We're sorry our emails have been getting in the way.",
            "Thanks for letting us know how you'd like to hear from us.",
        ],
        "act": [
            "We've removed you from our marketing emails today. You'll still get emails about any orders you place.",
            "We've turned off every marketing email and newsletter on your account today.",
            "You're now off our newsletter and sales lists. Order and delivery updates will still reach you.",
        ],
        "next": [
            "It can take up to 48 hours for emails already scheduled to stop, so one more may slip through.",
            "You can change this any time under Account, then Email preferences.",
            "If another sales email reaches you after this weekend, please reply here and we'll look into it.",
        ],
    },
    "faulty_after_use": {
        "kind": "electronics",
        "frames": [
            "My {item} stopped working after {days} days. It won't switch on at all.",
            "The {item} from {order} has started making a clicking noise and then cuts out.",
            "Hi, the {item} worked fine for a couple of weeks but now it won't turn on properly.",
            "{item} is dead. Bought it {days} days ago. Really not impressed.",
            "Is there anything I can try? My {item} turns on for a second and then goes off.",
            "The button on my {item} has stopped responding. Order {order}. It's only {days} days old.",
        ],
        "ack": [
            "We're sorry your {item} has stopped working so soon.",
            "Thanks for telling us about the fault with your {item}. It should last far longer than {days_or_that}.",
            "A {item} that fails after a few weeks isn't good enough, and we're sorry.",
        ],
        "act": [
            "We've sent you a free replacement {item} today on {order_phrase}, with a returns label for the faulty one.",
            "We've logged the fault on {order_phrase} and arranged a replacement, which leaves our warehouse today.",
            "We've set up a free replacement {item} and asked the courier to collect the faulty one when they deliver it.",
        ],
        "next": [
            "If you'd prefer a refund instead, reply to this email and we'll switch it over.",
            "Please stop using the faulty one and keep it in its box for the courier.",
            "You don't need to send anything back until the new one arrives.",
        ],
    },
    "gift_note": {
        "kind": "any",
        "frames": [
            "The {item} in {order} is a present. Can you make sure there's no price or receipt in the box?",
            "Hi, I forgot to tick the gift option. Could the {item} go without a receipt inside?",
            "please make sure there's no invoice in the parcel, the {item} is a surprise for my wife",
            "Is it too late to mark {order} as a gift? I don't want the receipt showing what I paid.",
            "The {item} is going straight to my nephew. Please leave any paperwork with prices out of the box.",
            "Could you send {order} without the packing slip? It's a thank-you present for a neighbour.",
        ],
        "ack": [
            "What a lovely present, and thanks for letting us know before it shipped.",
            "Thanks for telling us the {item_or_parcel} is a gift.",
            "Happy to help make the {item_or_parcel} feel like a proper present.",
        ],
        "act": [
            "We've added a note to {order_phrase} so the parcel goes out with no prices or receipt inside.",
            "We've marked the {item_or_parcel} as a gift, so our packers will leave out the receipt and any prices.",
            "We've updated {order_phrase} so the receipt goes to your email instead of into the box.",
        ],
        "next": [
            "There's nothing else you need to do, and the delivery date hasn't changed.",
            "If you'd like to add a gift message as well, reply before 4pm today, when your order is packed.",
            "Your receipt is in your account under Orders if you need it for returns later.",
        ],
    },
    "hold_delivery": {
        "kind": "any",
        "frames": [
            "I'm away until {date}. Can you hold {order} until then?",
            "Could you delay delivery of my {item}? I won't be home until {date}.",
            "Hi, I'm on holiday and won't be back until {date}. Please don't deliver the {item} before then.",
            "can the parcel wait until {date}? nobody will be in",
            "Please could you rearrange delivery for {order} to {date} or later. I'll be abroad.",
            "We're having building work done until {date}. Is it possible to hold the {item} until after that?",
        ],
        "ack": [
            "Thanks for letting us know you're away until {date}.",
            "Of course, we can hold your {item_or_parcel} until you're back on {date}.",
            "Thanks for telling us before the driver set off.",
        ],
        "act": [
            "We've moved the delivery of {order_phrase} to {date}, and the courier has confirmed the new date.",
            "We've asked our warehouse to keep {order_phrase} until {date}, so it will be sent to arrive the day after.",
            "The courier will now deliver on {date}. We've updated the tracking page to show it.",
        ],
        "next": [
            "If your plans change, reply to this email and we can bring the date forward.",
            "You'll get a reminder email the day before it arrives.",
            "There's nothing else you need to do. Enjoy the time away.",
        ],
    },
}
